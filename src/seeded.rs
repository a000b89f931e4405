//! Seeded randomness that is the same on every platform and with every
//! version of `rand`: the SplitMix64 generator (Steele, Lea & Flood 2014)
//! with Box–Muller normals, and Haar-distributed rotations drawn from it.
//!
//! The crate's own tests, benches and examples include this file with
//! `#[path]` to draw exactly the matrices the crate draws, so it names
//! nothing of the crate: the including module provides `nalgebra`.

use super::nalgebra::DMatrix;

/// A Haar-distributed rotation from a seeded SplitMix64 stream: QR of a
/// Gaussian matrix with the signs of `R`'s diagonal moved into `Q`.
pub(crate) fn seeded_rotation(dim: usize, seed: u64) -> DMatrix<f64> {
    let mut stream = SplitMix64(seed);
    let gaussian = DMatrix::from_fn(dim, dim, |_, _| stream.normal());
    let qr = gaussian.qr();
    let mut q = qr.q();
    let r = qr.r();
    for j in 0..dim {
        if r[(j, j)] < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    q
}

/// SplitMix64: a tiny, fully specified generator.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1), never 0.
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal by Box–Muller (one of the pair).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
