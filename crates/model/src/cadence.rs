use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How often the charter says the group meets.
///
/// Written by people as "monthly", "weekly", "every 2 weeks", "fortnightly", "quarterly", "every 3 months" …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cadence {
    /// Every `n` weeks.
    Weeks(u32),
    /// Every `n` months.
    Months(u32),
}

impl Cadence {
    /// The average length of one period in days (a month is 365.25 / 12 days).
    pub fn period_days(&self) -> f64 {
        match self {
            Cadence::Weeks(n) => 7.0 * f64::from(*n),
            Cadence::Months(n) => 365.25 / 12.0 * f64::from(*n),
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cadence::Weeks(1) => f.write_str("weekly"),
            Cadence::Weeks(n) => write!(f, "every {n} weeks"),
            Cadence::Months(1) => f.write_str("monthly"),
            Cadence::Months(3) => f.write_str("quarterly"),
            Cadence::Months(n) => write!(f, "every {n} months"),
        }
    }
}

impl FromStr for Cadence {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        let unit = |word: &str, n: u32| match word.trim_end_matches('s') {
            "week" => Some(Cadence::Weeks(n)),
            "month" => Some(Cadence::Months(n)),
            _ => None,
        };
        let parsed = match words.as_slice() {
            ["weekly"] => Some(Cadence::Weeks(1)),
            ["biweekly" | "fortnightly"] => Some(Cadence::Weeks(2)),
            ["monthly"] => Some(Cadence::Months(1)),
            ["bimonthly"] => Some(Cadence::Months(2)),
            ["quarterly"] => Some(Cadence::Months(3)),
            ["every", one] => unit(one, 1),
            ["every", n, word] => n.parse::<u32>().ok().filter(|n| (1..=24).contains(n)).and_then(|n| unit(word, n)),
            _ => None,
        };
        parsed.ok_or_else(|| {
            format!(
                "\"{text}\" is not a meeting cadence (try \"weekly\", \"every 2 weeks\", \"monthly\", \"quarterly\")"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadences_people_write_are_understood() {
        assert_eq!("Monthly".parse(), Ok(Cadence::Months(1)));
        assert_eq!("every 2 weeks".parse(), Ok(Cadence::Weeks(2)));
        assert_eq!("fortnightly".parse(), Ok(Cadence::Weeks(2)));
        assert_eq!("every month".parse(), Ok(Cadence::Months(1)));
        assert_eq!("quarterly".parse(), Ok(Cadence::Months(3)));
        assert!("whenever".parse::<Cadence>().is_err());
        assert!("every 0 weeks".parse::<Cadence>().is_err());
    }

    #[test]
    fn display_round_trips() {
        for cadence in
            [Cadence::Weeks(1), Cadence::Weeks(3), Cadence::Months(1), Cadence::Months(3), Cadence::Months(6)]
        {
            assert_eq!(cadence.to_string().parse(), Ok(cadence));
        }
    }
}
