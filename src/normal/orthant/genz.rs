//! Genz's separation of variables for `P(Z ∈ orthant)`, integrated by a
//! randomized rank-1 (Richtmyer) lattice rule.

use nalgebra::DMatrix;
use rand::Rng;
pub(super) use rand::rngs::StdRng;
use rayon::prelude::*;

use super::super::{bivariate_cdf, cdf, cdf_pair, inverse_mills, pdf, quantile_unrefined};

/// Below this conditional variance (the correlation matrix has unit
/// diagonal) a coordinate is a linear combination of the ones before it.
pub(super) const DEPENDENCE_TOLERANCE: f64 = 1e-10;

/// A coefficient of a dependent row smaller than this is taken as zero (it
/// moves the row's limit by at most about 40 times as much).
const COEFFICIENT_TOLERANCE: f64 = 1e-10;

/// Independent random shifts of the lattice: the error bound is a Student
/// interval with `SHIFTS − 1` degrees of freedom.
pub(super) const SHIFTS: usize = 16;

/// Points per shift in the first stage.
const FIRST_STAGE: u64 = 8;

/// Points per shift of the pilot runs that choose an integrand.
const PILOT_STAGE: u64 = 64;

/// One inequality `Σ_{l<k} coefficients_l y_l + coefficient · y_k ≤ threshold`
/// that bounds variable `k` given the earlier ones.
#[derive(Debug, Clone)]
struct Constraint {
    /// Offset of the `k` coefficients of the earlier variables in
    /// [`Separated::coefficients`].
    offset: usize,
    /// The coefficient of `y_k` (positive: an upper limit; negative: a lower
    /// limit).
    coefficient: f64,
    threshold: f64,
}

/// The problem after Cholesky factorization with Genz's ordering: variable
/// `k` (of `rank`) lies in an interval whose ends depend on `y_0..y_{k−1}`.
#[derive(Debug, Clone)]
pub(super) struct Separated {
    rank: usize,
    coefficients: Vec<f64>,
    constraints: Vec<Constraint>,
    /// Constraints of variable `k`: `constraints[starts[k]..starts[k + 1]]`.
    starts: Vec<usize>,
    /// How many leading terms of the exceedance telescoping sum have an
    /// exact expectation (1 or 2); the rest is integrated.
    pub exact_terms: usize,
    /// The exact expectation of those leading terms of the exceedance.
    pub exact_exceedance: f64,
    /// The exact probability that the first `exact_terms` variables lie in
    /// their intervals.
    pub exact_inside: f64,
    /// The factor of this integrand in the lattice's weighted sum.
    pub weight: f64,
    /// Whether the lattice sums the product `e_0⋯e_{rank−1}` (the orthant
    /// probability) rather than the exceedance remainder.
    pub use_product: bool,
}

/// Outcome of factorizing: either an integral to estimate, or an answer
/// already known (an empty orthant, or rank one).
pub(super) enum Factorized {
    Integral(Separated),
    /// `(orthant, exceedance)`, exact up to rounding.
    Exact(f64, f64),
}

/// `P(Y ∈ [lower, upper])` and its complement for a standard normal `Y`,
/// each without cancellation, and a sampler of `Y` conditioned on the
/// interval.
#[derive(Debug, Clone, Copy)]
struct Interval {
    inside: f64,
    outside: f64,
    /// `y = mirror · Φ⁻¹(base + w · inside)` samples the interval for `w`
    /// uniform on (0, 1).
    base: f64,
    mirror: f64,
}

impl Interval {
    fn new(lower: f64, upper: f64) -> Self {
        if lower >= upper {
            return Self {
                inside: 0.0,
                outside: 1.0,
                base: 0.0,
                mirror: 1.0,
            };
        }
        if lower == f64::NEG_INFINITY {
            let (below, above) = cdf_pair(upper);
            return Self {
                inside: below,
                outside: above,
                base: 0.0,
                mirror: 1.0,
            };
        }
        let (below_lower, above_lower) = cdf_pair(lower);
        if upper == f64::INFINITY {
            return Self {
                inside: above_lower,
                outside: below_lower,
                base: 0.0,
                mirror: -1.0,
            };
        }
        let (below_upper, above_upper) = cdf_pair(upper);
        let outside = below_lower + above_upper;
        if lower > 0.0 {
            // Upper half: work with the upper tails, mirrored.
            Self {
                inside: above_lower - above_upper,
                outside,
                base: above_upper,
                mirror: -1.0,
            }
        } else {
            Self {
                inside: below_upper - below_lower,
                outside,
                base: below_lower,
                mirror: 1.0,
            }
        }
    }

    fn sample(&self, w: f64) -> f64 {
        let p = (self.base + w * self.inside).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
        self.mirror * quantile_unrefined(p)
    }
}

/// E[Y | Y ≤ b] for a standard normal Y.
fn truncated_mean(b: f64) -> f64 {
    if b <= 0.0 {
        -inverse_mills(b)
    } else {
        -pdf(b) / cdf(b)
    }
}

/// Factorizes the standardized problem `P(Z ≤ h)`, `Z ~ N(0, rho)` (unit
/// diagonal, positive semi-definite within [`DEPENDENCE_TOLERANCE`]).
///
/// Genz's ordering: at each step the coordinate with the smallest
/// probability of its own limit, given the conditional means of the
/// variables already placed, comes next; coordinates whose conditional
/// variance vanishes are dependent, and each becomes one more limit on the
/// last variable it involves (Genz & Bretz, *Computation of Multivariate
/// Normal and t Probabilities*, 2009, §4.1).
///
/// Of the exact leading part, only the exceedance (`want_inside` false) or
/// only the probability inside (`want_inside` true) is computed.
pub(super) fn factorize(h: &[f64], rho: &DMatrix<f64>, want_inside: bool) -> Factorized {
    let n = h.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut l = DMatrix::<f64>::zeros(n, n);
    let mut means = vec![0.0; n];
    let mut rank = n;
    for k in 0..n {
        let mut best: Option<(usize, f64, f64)> = None;
        for i in k..n {
            let variance = 1.0 - (0..k).map(|j| l[(i, j)] * l[(i, j)]).sum::<f64>();
            if variance <= DEPENDENCE_TOLERANCE {
                continue;
            }
            let sd = variance.sqrt();
            let shift: f64 = (0..k).map(|j| l[(i, j)] * means[j]).sum();
            let limit = (h[order[i]] - shift) / sd;
            let probability = cdf(limit);
            if best.is_none_or(|(_, p, _)| probability < p) {
                best = Some((i, probability, sd));
            }
        }
        let Some((pivot, _, sd)) = best else {
            rank = k;
            break;
        };
        order.swap(k, pivot);
        l.swap_rows(k, pivot);
        l[(k, k)] = sd;
        for i in k + 1..n {
            let dot: f64 = (0..k).map(|j| l[(i, j)] * l[(k, j)]).sum();
            l[(i, k)] = (rho[(order[i], order[k])] - dot) / sd;
        }
        let shift: f64 = (0..k).map(|j| l[(k, j)] * means[j]).sum();
        means[k] = truncated_mean((h[order[k]] - shift) / sd);
    }

    // Each row becomes a limit on its last variable.
    let mut rows: Vec<(usize, usize)> = (0..rank).map(|k| (k, k)).collect();
    for i in rank..n {
        match (0..rank)
            .rev()
            .find(|&j| l[(i, j)].abs() > COEFFICIENT_TOLERANCE)
        {
            Some(j) => rows.push((j, i)),
            // No variance at all (cannot happen for a unit diagonal within
            // tolerance): the limit is 0 ≤ h.
            None if h[order[i]] < 0.0 => return Factorized::Exact(0.0, 1.0),
            None => {}
        }
    }
    rows.sort_by_key(|&(variable, _)| variable);
    let mut coefficients = Vec::new();
    let mut constraints = Vec::with_capacity(rows.len());
    let mut starts = vec![0; rank + 1];
    for &(variable, row) in &rows {
        starts[variable + 1] += 1;
        constraints.push(Constraint {
            offset: coefficients.len(),
            coefficient: l[(row, variable)],
            threshold: h[order[row]],
        });
        coefficients.extend((0..variable).map(|j| l[(row, j)]));
    }
    for k in 0..rank {
        starts[k + 1] += starts[k];
    }
    let mut separated = Separated {
        rank,
        coefficients,
        constraints,
        starts,
        exact_terms: 1,
        exact_exceedance: 0.0,
        exact_inside: 0.0,
        weight: 1.0,
        use_product: false,
    };
    let first = separated.interval(0, &[]);
    if rank == 1 {
        return Factorized::Exact(first.inside, first.outside);
    }
    let single = |k: usize| separated.starts[k + 1] - separated.starts[k] == 1;
    if single(0) && single(1) {
        // P(Z₁ ≤ h₁, Z₂ > h₂) = Φ₂(h₁, −h₂; −ρ) and P(Z₁ ≤ h₁, Z₂ ≤ h₂):
        // the first two terms are exact bivariate probabilities.
        let (h1, h2) = (h[order[0]], h[order[1]]);
        let r12 = rho[(order[0], order[1])].clamp(-1.0, 1.0);
        separated.exact_terms = 2;
        if want_inside {
            separated.exact_inside = bivariate_cdf(h1, h2, r12);
        } else {
            separated.exact_exceedance = first.outside + bivariate_cdf(h1, -h2, -r12);
        }
    } else {
        separated.exact_exceedance = first.outside;
        separated.exact_inside = first.inside;
    }
    Factorized::Integral(separated)
}

impl Separated {
    /// The dimension of the integral (the last variable is integrated in
    /// closed form).
    pub fn dimension(&self) -> usize {
        self.rank - 1
    }

    /// The interval of variable `k` given `y_0..y_{k−1}`.
    fn interval(&self, k: usize, y: &[f64]) -> Interval {
        let mut lower = f64::NEG_INFINITY;
        let mut upper = f64::INFINITY;
        for c in &self.constraints[self.starts[k]..self.starts[k + 1]] {
            let coefficients = &self.coefficients[c.offset..c.offset + k];
            let dot: f64 = coefficients.iter().zip(y).map(|(a, b)| a * b).sum();
            let limit = (c.threshold - dot) / c.coefficient;
            if c.coefficient > 0.0 {
                upper = upper.min(limit);
            } else {
                lower = lower.max(limit);
            }
        }
        Interval::new(lower, upper)
    }

    /// The integrand at `w ∈ [0, 1]^{rank − 1}`: the remainder
    /// `Σ_{k ≥ exact_terms} e_0⋯e_{k−1} (1 − e_k)` of the exceedance and
    /// the product `e_0⋯e_{rank−1}` (the orthant probability), where `e_k`
    /// is the probability of variable `k`'s interval.
    fn evaluate(&self, w: &[f64], y: &mut [f64]) -> (f64, f64) {
        let mut product = 1.0;
        let mut remainder = 0.0;
        for k in 0..self.rank {
            let interval = self.interval(k, &y[..k]);
            if k >= self.exact_terms {
                remainder += product * interval.outside;
            }
            product *= interval.inside;
            if product == 0.0 {
                break;
            }
            if k + 1 < self.rank {
                y[k] = interval.sample(w[k]);
            }
        }
        (remainder, product)
    }
}

/// The lattice rule: a Richtmyer generator `frac(√p_j)` (the first primes)
/// in 64-bit fixed point, so that `frac(i z + Δ)` is exact, and random
/// shifts `Δ`, one per replicate; points are periodised by the tent
/// transform `w = |2x − 1|`.
pub(super) struct Lattice {
    generator: Vec<u64>,
    shifts: Vec<Vec<u64>>,
    /// Per shift: the sum over the points used so far of the weighted sum of
    /// the integrands.
    sums: Vec<f64>,
    /// Points per shift used so far.
    pub points: u64,
}

/// `x · 2⁶⁴` for `x ∈ [0, 1)`, rounded down.
fn fixed_point(x: f64) -> u64 {
    // Exact: x has 53 significant bits.
    (x * 18_446_744_073_709_551_616.0) as u64
}

fn primes(count: usize) -> Vec<u64> {
    let mut found: Vec<u64> = Vec::with_capacity(count);
    let mut candidate = 2u64;
    while found.len() < count {
        if found
            .iter()
            .take_while(|&&p| p * p <= candidate)
            .all(|&p| candidate % p != 0)
        {
            found.push(candidate);
        }
        candidate += 1;
    }
    found
}

impl Lattice {
    /// The lattice in `dimension` dimensions with [`SHIFTS`] random shifts
    /// drawn from `rng`.
    pub fn new(dimension: usize, rng: &mut StdRng) -> Self {
        let generator = primes(dimension)
            .into_iter()
            .map(|p| fixed_point((p as f64).sqrt().fract()))
            .collect();
        let shifts = (0..SHIFTS)
            .map(|_| (0..dimension).map(|_| rng.random::<u64>()).collect())
            .collect();
        Self {
            generator,
            shifts,
            sums: vec![0.0; SHIFTS],
            points: 0,
        }
    }

    /// Extends every shift to `points` points, summing
    /// `Σ weight · integrand` over all `problems` (each uses the leading
    /// coordinates of the point; the sequence is extensible, so earlier
    /// points are kept). The shifts run in parallel; each one's sum is a
    /// fixed sequential loop, so the result does not depend on the number
    /// of threads.
    pub fn extend_to(&mut self, problems: &[Separated], points: u64) {
        Self::extend_all(std::slice::from_mut(self), &[problems], &[points]);
    }

    /// [`extend_to`](Self::extend_to) for several lattices at once, lattice
    /// `g` to `points[g]` points on `groups[g]`: every (lattice, shift) pair
    /// is one task of a single parallel region, so that threads stay busy
    /// while the groups' numbers of points differ. Each pair's sum is the
    /// same fixed sequential loop as in `extend_to`, added once to its
    /// shift's total: the bits do not depend on the number of threads.
    pub fn extend_all<G: AsRef<[Separated]> + Sync>(
        lattices: &mut [Lattice],
        groups: &[G],
        points: &[u64],
    ) {
        // Largest tasks first, so that the last ones to finish are short.
        let mut tasks: Vec<(usize, usize, u64)> = lattices
            .iter()
            .zip(groups)
            .zip(points)
            .enumerate()
            .filter(|(_, ((lattice, _), points))| **points > lattice.points)
            .flat_map(|(g, ((lattice, problems), &points))| {
                let work: u64 = problems.as_ref().iter().map(|p| p.rank as u64).sum::<u64>()
                    * (points - lattice.points);
                (0..SHIFTS).map(move |s| (g, s, work))
            })
            .collect();
        tasks.sort_by_key(|task| std::cmp::Reverse(task.2));
        let shared: &[Lattice] = lattices;
        let added: Vec<f64> = tasks
            .par_iter()
            .with_max_len(1)
            .map(|&(g, s, _)| {
                let lattice = &shared[g];
                lattice.shift_sum(s, groups[g].as_ref(), points[g])
            })
            .collect();
        for (&(g, s, _), a) in tasks.iter().zip(added) {
            lattices[g].sums[s] += a;
        }
        for (lattice, &points) in lattices.iter_mut().zip(points) {
            lattice.points = lattice.points.max(points);
        }
    }

    /// The sum of `Σ weight · integrand` over points `self.points..points`
    /// of shift `s`.
    fn shift_sum(&self, s: usize, problems: &[Separated], points: u64) -> f64 {
        let generator = &self.generator;
        let shift = &self.shifts[s];
        let mut w = vec![0.0; generator.len()];
        let mut y = vec![0.0; generator.len() + 1];
        let mut sum = 0.0;
        for i in self.points..points {
            for ((wj, &z), &s) in w.iter_mut().zip(generator).zip(shift) {
                let x = i.wrapping_mul(z).wrapping_add(s);
                // Top 53 bits, in [0, 1).
                let x = (x >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0);
                *wj = (2.0 * x - 1.0).abs();
            }
            for problem in problems {
                let (r, p) = problem.evaluate(&w, &mut y);
                sum += problem.weight * if problem.use_product { p } else { r };
            }
        }
        sum
    }

    /// Points per shift in the first stage.
    pub fn first_stage() -> u64 {
        FIRST_STAGE
    }

    /// Points per shift of a pilot run.
    pub fn pilot_stage() -> u64 {
        PILOT_STAGE
    }

    /// Each shift's average of the weighted sum over the points used so
    /// far.
    pub fn averages(&self) -> impl Iterator<Item = f64> + '_ {
        let n = self.points as f64;
        self.sums.iter().map(move |v| v / n)
    }

    /// The mean over the shifts of their averages, and its sample variance
    /// (the variance of one shift's average divided by the number of shifts).
    pub fn moments(&self) -> (f64, f64) {
        let averages: Vec<f64> = self.averages().collect();
        mean_and_variance(&averages)
    }
}

/// The mean of independent replicates and the sample variance of that mean.
pub(super) fn mean_and_variance(replicates: &[f64]) -> (f64, f64) {
    let s = replicates.len() as f64;
    let mean = replicates.iter().sum::<f64>() / s;
    let variance = replicates.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (s - 1.0) / s;
    (mean, variance)
}
