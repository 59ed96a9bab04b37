//! Spreading the bits the core is given: it draws no randomness of its own, so jitter (the backoff before
//! trying again) and fresh ids come from the host's entropy (or the clock it reports) mixed with a counter.

/// SplitMix64's step: equal inputs give equal outputs, nearby inputs unrelated ones.
pub(crate) fn mix(seed: u64) -> u64 {
    let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The first wait before trying again; it doubles per failure.
const BASE_BACKOFF_MS: u64 = 500;

/// `500 ms · 2^failures`, capped at 30 s, with jitter in its upper half, drawn from `seed` (the time and the
/// request make a seed that differs between clients, so that they do not all come back at once).
pub(crate) fn backoff(failures: u32, seed: u64) -> u64 {
    let full = BASE_BACKOFF_MS.saturating_mul(1 << failures.min(16)).min(30_000);
    full / 2 + mix(seed) % (full / 2 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn mixes_deterministically() {
        assert_eq!(mix(1), mix(1));
        assert_ne!(mix(1), mix(2));
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF, "SplitMix64's first output for seed 0");
    }
}
