//! Reproducible parallel sampling (internal): the `n × d` matrices of
//! [`Gmm::sample`](crate::Gmm::sample) are filled in pieces of rows on
//! every thread of rayon's current pool.
//!
//! **Generator.** Each piece draws from its own Xoshiro256++
//! (`rand_xoshiro`): a fast generator (a few xor-shift-rotate operations
//! per 64 bits) whose `jump` moves it `2¹²⁸` steps ahead, so the pieces use
//! non-overlapping stretches of one stream. The first piece's generator is
//! seeded by 256 bits taken from the caller's `rng`; the next piece's is
//! the previous one jumped once. Normals come from `rand_distr`'s
//! ziggurat `StandardNormal`. Xoshiro256++ is specified by its authors and
//! pinned by `rand_xoshiro`'s version, so a seed gives the same matrix on
//! every platform and across rand releases; rand's `SmallRng` is not
//! (its algorithm may change between versions), hence not used here.
//!
//! **Independence of the thread count.** The size of a piece depends only
//! on `d` ([`rows_per_piece`]), each piece's generator only on its index,
//! and every piece writes only its own rows: for a given `rng` state the
//! result is bit-identical on any number of threads.

use faer::MatMut;
use nalgebra::DMatrix;
use rand::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;

/// The generator of one piece of rows.
pub(crate) type PieceRng = Xoshiro256PlusPlus;

/// Matrix entries per piece (1 MB: a piece and its scratch stay in L2).
const ENTRIES_PER_PIECE: usize = 1 << 17;

/// Rows per piece for dimension `d`: a fixed function of `d` alone.
pub(crate) fn rows_per_piece(d: usize) -> usize {
    (ENTRIES_PER_PIECE / d.max(1)).clamp(64, 8192)
}

/// An `n × d` matrix (and `n` per-row values `side`) filled piece by piece
/// in parallel: `fill(rng, rows, side, scratch)` gets the piece's
/// generator, its rows as a column-major view, its slice of `side`, and a
/// scratch vector reused by the thread.
pub(crate) fn fill_rows<T, R, F>(
    n: usize,
    d: usize,
    side: &mut [T],
    rng: &mut R,
    fill: F,
) -> DMatrix<f64>
where
    T: Send,
    R: Rng + ?Sized,
    F: Fn(&mut PieceRng, MatMut<'_, f64>, &mut [T], &mut Vec<f64>) + Sync,
{
    debug_assert_eq!(side.len(), n);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let mut generator = PieceRng::from_seed(seed);
    let rows = rows_per_piece(d);
    let mut out = DMatrix::zeros(n, d);
    let mut pieces = Vec::with_capacity(n.div_ceil(rows));
    let mut rest = MatMut::from_column_major_slice_mut(out.as_mut_slice(), n, d);
    for side in side.chunks_mut(rows) {
        let (piece, tail) = rest.split_at_row_mut(side.len());
        pieces.push((generator.clone(), piece, side));
        generator.jump();
        rest = tail;
    }
    pieces
        .into_par_iter()
        .for_each_init(Vec::new, |scratch, (mut generator, piece, side)| {
            fill(&mut generator, piece, side, scratch)
        });
    out
}

/// Column `j` of a view whose rows are contiguous (every view
/// [`fill_rows`] hands out), as a slice.
pub(crate) fn column_mut<'a>(view: &'a mut MatMut<'_, f64>, j: usize) -> &'a mut [f64] {
    view.as_mut()
        .col_mut(j)
        .try_as_col_major_mut()
        .expect("the pieces of a column-major matrix have contiguous columns")
        .as_slice_mut()
}
