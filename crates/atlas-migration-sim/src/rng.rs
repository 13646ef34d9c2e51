//! Seeded randomness for ids, nonces, credentials and probabilistic faults, on `fastrand`
//! (not cryptographic: the simulator is a test fake). The same seed yields the same run.

/// Deterministic generator; the same seed yields the same sequence.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    inner: fastrand::Rng,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            inner: fastrand::Rng::with_seed(seed),
        }
    }

    /// A seed that differs between runs.
    pub(crate) fn entropy_seed() -> u64 {
        fastrand::u64(..)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        self.inner.f64()
    }

    /// Uniform in `[0, n)`; `n` must be non-zero.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.inner.usize(..n)
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
        (0..len).map(|_| self.inner.u8(..)).collect()
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
