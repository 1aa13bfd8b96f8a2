use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Fills an array with bytes from the operating system's CSPRNG.
///
/// # Panics
/// If the operating system has no randomness to give, which leaves nothing safe to do.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut out).expect("the operating system's random number generator failed");
    out
}

/// Thirty-two secret bytes: a symmetric key or a private key seed.
///
/// Zeroized when dropped, compared in constant time, and its `Debug` prints nothing of the value, so a secret
/// that ends up in a log line or an error message gives nothing away.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret32([u8; 32]);

impl Secret32 {
    /// A fresh random secret.
    pub fn random() -> Self {
        Self(random_array())
    }

    /// Wraps bytes that are already secret; the caller should zeroize its own copy.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads 32 bytes from a slice, `None` if the length is wrong.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(array))
    }

    /// The secret bytes. Keep the borrow short and never copy them into a non-zeroizing buffer.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for Secret32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret32 {}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret32(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_secret() {
        let secret = Secret32::from_bytes([0xab; 32]);
        let printed = format!("{secret:?}");
        assert!(!printed.contains("ab"), "{printed}");
        assert!(!printed.contains("171"), "{printed}");
    }

    #[test]
    fn random_secrets_differ() {
        assert_ne!(Secret32::random(), Secret32::random());
    }
}
