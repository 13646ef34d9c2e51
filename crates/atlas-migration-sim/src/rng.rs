//! A small seeded pseudo-random generator (SplitMix64) for ids, nonces, credentials and
//! probabilistic faults. Not cryptographic: the simulator is a test fake.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

/// Deterministic generator; the same seed yields the same sequence.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A seed that differs between runs.
    pub(crate) fn entropy_seed() -> u64 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        RandomState::new().hash_one(nanos)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)`; `n` must be non-zero.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `len` lowercase hex digits.
    pub(crate) fn hex(&mut self, len: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        (0..len).map(|_| DIGITS[self.below(16)] as char).collect()
    }

    /// An Atlas-style object id: 24 lowercase hex digits.
    pub(crate) fn object_id(&mut self) -> String {
        self.hex(24)
    }

    /// `len` lowercase ASCII letters.
    pub(crate) fn letters(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }

    /// A UUID-shaped random string (8-4-4-4-12 hex digits).
    pub(crate) fn uuid_like(&mut self) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(4),
            self.hex(4),
            self.hex(12)
        )
    }

    /// `len` random bytes.
    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Whether `s` is an Atlas object id (24 lowercase hex digits).
pub(crate) fn is_object_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_ids_are_object_ids() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let ida = a.object_id();
        assert_eq!(ida, b.object_id());
        assert!(is_object_id(&ida));
        assert!(!is_object_id("ABCDEF0123456789abcdef01"));
        assert!(!is_object_id("abc"));
    }
}
