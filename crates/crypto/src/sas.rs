//! Short authentication strings: a few words two people read aloud to each other to confirm that their devices
//! are talking to each other and not to someone in between.
//!
//! Both devices hash the same transcript of their handshake (their keys, nonces and commitments) and map the first
//! bytes of the hash to words from a fixed list of 256. [`SAS_WORDS`] words give 8 bits each: 48 bits, so an
//! attacker in the middle who cannot see the transcript in advance passes the comparison with probability 2^-48.
//!
//! ```
//! use sunspace_crypto::short_authentication_string;
//! let a = short_authentication_string(b"the same transcript");
//! assert_eq!(a, short_authentication_string(b"the same transcript"));
//! assert_ne!(a, short_authentication_string(b"another transcript"));
//! assert_eq!(a.words().len(), 6);
//! ```

use std::fmt;

use crate::hash_parts;

/// How many words a short authentication string has.
pub const SAS_WORDS: usize = 6;

/// A short authentication string: words to compare aloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShortAuthString([&'static str; SAS_WORDS]);

impl ShortAuthString {
    /// The words, in order.
    pub fn words(&self) -> &[&'static str] {
        &self.0
    }
}

impl fmt::Display for ShortAuthString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// The words for a handshake transcript.
pub fn short_authentication_string(transcript: &[u8]) -> ShortAuthString {
    let digest = hash_parts("sunspace/sas/v1", &[transcript]);
    let mut words = [""; SAS_WORDS];
    for (word, byte) in words.iter_mut().zip(digest) {
        *word = WORDLIST[usize::from(byte)];
    }
    ShortAuthString(words)
}

/// 256 short, distinct, concrete English words, easy to say and hear.
pub const WORDLIST: [&str; 256] = [
    "acorn", "album", "alley", "amber", "anchor", "angel", "ankle", "apple", "apron", "arena", "armor", "arrow",
    "aspen", "atlas", "attic", "autumn", "avenue", "bacon", "badge", "bagel", "baker", "bamboo", "banjo", "barrel",
    "basil", "basket", "beach", "beaver", "bell", "berry", "bicycle", "bison", "blanket", "blossom", "boat", "border",
    "bottle", "bracelet", "branch", "bread", "breeze", "brick", "bridge", "brook", "broom", "bucket", "buffalo",
    "bundle", "butter", "button", "cabin", "cactus", "camel", "camera", "candle", "canoe", "canyon", "carpet",
    "carrot", "castle", "cedar", "cello", "chalk", "cherry", "chess", "chimney", "cider", "circus", "clover", "cobalt",
    "cocoa", "coconut", "comet", "compass", "copper", "coral", "cotton", "cradle", "crayon", "cricket", "crystal",
    "dolphin", "donkey", "dragon", "drum", "eagle", "easel", "elbow", "ember", "engine", "falcon", "feather", "fern",
    "fiddle", "garden", "garlic", "ginger", "glacier", "globe", "goose", "granite", "grape", "gravel", "guitar",
    "hammer", "harbor", "harvest", "hazel", "helmet", "heron", "honey", "horizon", "igloo", "island", "ivory",
    "jacket", "jaguar", "jasmine", "jelly", "jigsaw", "jungle", "kayak", "kettle", "kitten", "koala", "ladder",
    "lagoon", "lantern", "lemon", "lettuce", "library", "lily", "lizard", "lobster", "locket", "lotus", "magnet",
    "mango", "maple", "marble", "meadow", "melon", "mirror", "mitten", "monkey", "mosaic", "muffin", "napkin",
    "nectar", "needle", "nickel", "noodle", "nutmeg", "oasis", "ocean", "olive", "onion", "orange", "orbit", "orchid",
    "otter", "owl", "paddle", "palace", "panda", "paper", "parade", "parrot", "pasta", "peach", "peanut", "pebble",
    "pelican", "pencil", "pepper", "piano", "pickle", "pillow", "pilot", "pine", "planet", "plum", "pocket", "pony",
    "poppy", "potato", "pretzel", "puzzle", "quartz", "quilt", "rabbit", "radish", "rainbow", "raven", "ribbon",
    "river", "robin", "rocket", "rose", "ruby", "saddle", "saffron", "salmon", "sandal", "satin", "scarf", "seashell",
    "shadow", "shovel", "silver", "sketch", "sled", "slipper", "snail", "sofa", "sparrow", "spider", "spinach",
    "spoon", "squirrel", "stable", "star", "stream", "sugar", "summit", "sunset", "swan", "table", "teapot", "thistle",
    "thunder", "tiger", "timber", "tomato", "topaz", "tractor", "trumpet", "tulip", "turtle", "umbrella", "valley",
    "velvet", "violin", "volcano", "wagon", "walnut", "walrus", "whistle", "willow", "window", "winter", "wizard",
    "wolf", "yarn", "zebra", "zipper",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wordlist_has_256_distinct_lowercase_words() {
        let mut words: Vec<&str> = WORDLIST.to_vec();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), 256);
        assert!(WORDLIST.iter().all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn a_one_bit_change_in_the_transcript_changes_the_words() {
        let a = short_authentication_string(&[0u8; 64]);
        let mut flipped = [0u8; 64];
        flipped[63] = 1;
        assert_ne!(a, short_authentication_string(&flipped));
    }

    #[test]
    fn the_words_are_pinned_for_a_known_transcript() {
        // Two builds must show the same words for the same handshake: pin the mapping.
        assert_eq!(short_authentication_string(b"sunspace").to_string(), PINNED);
    }

    // Cross-checked with Python: hashlib.sha256 over the length-prefixed domain and transcript.
    const PINNED: &str = "planet lemon falcon nectar palace brook";
}
