//! A strength hint for a new passphrase. A rough estimate, meant to steer people towards several random words:
//! the passphrase is what protects a seized device, and it cannot be recovered.

use serde::Serialize;
use sunspace_node::MIN_PASSPHRASE_CHARS;

/// How a proposed passphrase looks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct PassphraseCheck {
    /// Whether the device would accept it.
    pub acceptable: bool,
    /// "too-short", "weak", "fair" or "strong".
    pub strength: String,
    /// What to do, in a sentence.
    pub hint: String,
}

/// Estimates a passphrase's strength. Words count for about 11 bits each when there are several (as from a word
/// list), other characters for about 3 bits each; repeated characters count once.
pub fn check_passphrase(text: &str) -> PassphraseCheck {
    let chars = text.chars().count();
    if chars < MIN_PASSPHRASE_CHARS {
        return PassphraseCheck {
            acceptable: false,
            strength: "too-short".into(),
            hint: format!(
                "Use at least {MIN_PASSPHRASE_CHARS} characters. Four or five random words are easiest to remember."
            ),
        };
    }
    let words = text.split_whitespace().filter(|w| w.chars().count() >= 3).count();
    let distinct = {
        let mut seen: Vec<char> = text.chars().collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    };
    let bits = if words >= 3 { words * 11 } else { distinct.min(chars) * 3 };
    let (strength, hint) = match bits {
        0..=39 => ("weak", "Someone with your device could guess this. Add more random words."),
        40..=54 => ("fair", "Good. One or two more random words would make it strong."),
        _ => (
            "strong",
            "Strong. Write it down somewhere safe: if it is forgotten, this device's data cannot be recovered.",
        ),
    };
    PassphraseCheck { acceptable: true, strength: strength.into(), hint: hint.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passphrases_are_refused_and_several_random_words_are_strong() {
        assert!(!check_passphrase("hunter2").acceptable);
        assert_eq!(check_passphrase("aaaaaaaaaaaaaaaa").strength, "weak");
        assert_eq!(check_passphrase("tenants united never divided").strength, "fair");
        assert_eq!(check_passphrase("tenants united never divided today").strength, "strong");
        assert!(check_passphrase("correct horse battery staple").acceptable);
    }
}
