//! Reproducible random rotations and orthonormal bases for the tests,
//! benches and examples, the same on every platform and with every
//! version of `rand`: a self-contained SplitMix64 stream (Steele, Lea &
//! Flood 2014) with Box–Muller normals. `seeded_rotation` draws exactly the
//! matrices the crate's default model uses for the same seed.
#![allow(dead_code)] // each including target uses part of it

use manifold_robustness::nalgebra::DMatrix;

/// A Haar-distributed rotation: QR of a Gaussian matrix with the signs of
/// `R`'s diagonal moved into `Q`.
pub fn seeded_rotation(dim: usize, seed: u64) -> DMatrix<f64> {
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

/// A `d × k` matrix with orthonormal columns, Haar-distributed: Gaussian
/// columns orthonormalised in place by modified Gram–Schmidt, run twice
/// for orthogonality to working precision ("twice is enough", Giraud et
/// al. 2005). `O(dk²)` time and no memory beyond the result, so `d` can be
/// in the millions (the basis of a spiked covariance).
///
/// # Panics
/// If `k > d` (no such basis exists).
pub fn seeded_orthonormal_basis(d: usize, k: usize, seed: u64) -> DMatrix<f64> {
    assert!(k <= d, "an orthonormal d × k basis needs k ≤ d");
    let mut stream = SplitMix64(seed);
    let mut basis = DMatrix::from_fn(d, k, |_, _| stream.normal());
    for _pass in 0..2 {
        for j in 0..k {
            for i in 0..j {
                let projection = basis.column(i).dot(&basis.column(j));
                let (left, mut right) = basis.columns_range_pair_mut(i, j);
                right.axpy(-projection, &left, 1.0);
            }
            let norm = basis.column(j).norm();
            basis.column_mut(j).unscale_mut(norm);
        }
    }
    basis
}

/// SplitMix64: a tiny, fully specified generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1), never 0.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal by Box–Muller (one of the pair).
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
