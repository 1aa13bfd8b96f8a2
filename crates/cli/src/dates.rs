//! Dates as people type them.

use chrono::NaiveDate;

/// Today's date on this machine.
pub(crate) fn today() -> NaiveDate {
    sunspace_node::today()
}

/// Parses `YYYY-MM-DD`, `today`, `yesterday` or `tomorrow`, as the service does ([`sunspace_api::date_of`]), for
/// the argument parser, which words its own usage errors.
pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    sunspace_api::date_of(text).ok_or_else(|| {
        format!(
            "\"{text}\" is not a date: write it as YYYY-MM-DD (for example 2026-11-20), or today/yesterday/tomorrow"
        )
    })
}

/// A date as the service reads it (`YYYY-MM-DD`), if one was given.
pub(crate) fn day(date: Option<NaiveDate>) -> Option<String> {
    date.map(|d| d.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_and_relative_words_parse() {
        assert_eq!(parse_date("2026-11-20"), Ok(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()));
        assert_eq!(parse_date(" Today "), Ok(today()));
        assert!(parse_date("2026-13-01").unwrap_err().contains("YYYY-MM-DD"));
        assert!(parse_date("20/11/2026").is_err());
    }
}
