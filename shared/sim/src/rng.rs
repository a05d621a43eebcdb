//! Counter-based randomness: every draw comes from a stream keyed by (seed, purpose, variant,
//! day), so the same variant on the same day draws the same noise under every policy (common
//! random numbers: two policies that leave a variant alone see identical sales for it), and the
//! order in which things are simulated never changes a result.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is for (keeps streams of different purposes apart).
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Purpose {
    Truth = 1,
    Day = 2,
    Merchant = 3,
}

fn mix(a: u64, b: u64) -> u64 {
    // splitmix64 of a combined key.
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream of one purpose for one (a, b) key, e.g. (variant index, day number).
pub fn stream(seed: u64, purpose: Purpose, a: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(mix(mix(seed, purpose as u64), a), b))
}

/// A Poisson draw with mean `lambda` (Knuth's method below 30, a rounded normal above).
pub fn poisson(rng: &mut impl Rng, lambda: f64) -> u64 {
    if !lambda.is_finite() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0u64;
        let mut p = 1.0;
        loop {
            p *= rng.gen::<f64>();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
    let z = normal(rng);
    (lambda + lambda.sqrt() * z).round().max(0.0) as u64
}

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal draw with the given median and log-scale spread.
pub fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_is_lambda() {
        for lambda in [0.3, 4.0, 80.0] {
            let mut rng = stream(1, Purpose::Day, 0, 0);
            let n = 20_000;
            let total: u64 = (0..n).map(|_| poisson(&mut rng, lambda)).sum();
            let mean = total as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.02,
                "{lambda}: {mean}"
            );
        }
    }

    #[test]
    fn streams_are_keyed() {
        let a: u64 = stream(1, Purpose::Day, 3, 4).gen();
        let b: u64 = stream(1, Purpose::Day, 3, 4).gen();
        let c: u64 = stream(1, Purpose::Day, 4, 3).gen();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
