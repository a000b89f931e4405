//! Orthant and exceedance probabilities of correlated normal vectors in
//! three or more dimensions (`normal::orthant_probability`,
//! `normal::exceedance_probability`): exact values, a high-precision
//! reference table, singular covariances, plain Monte Carlo, the coverage of
//! the error bound, thread-count independence and the far tails.

use manifold_robustness::Error;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::normal::{self, Estimate, OrthantOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::common::tol;

const REFERENCE: &str = include_str!("../data/orthant_reference.csv");

/// Rows of `tests/data/orthant_reference.csv` (made by
/// `scripts/orthant_reference.py`, 80-digit mpmath): `(ρ, h, orthant,
/// exceedance)` for the equicorrelated covariance.
fn reference_rows() -> Vec<(f64, Vec<f64>, f64, f64)> {
    let mut lines = REFERENCE.lines();
    assert_eq!(lines.next(), Some("m,rho,h,orthant,exceedance"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let h: Vec<f64> = f[2].split(';').map(|v| v.parse().unwrap()).collect();
            assert_eq!(h.len(), f[0].parse::<usize>().unwrap());
            (
                f[1].parse().unwrap(),
                h,
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect()
}

fn equicorrelated(m: usize, rho: f64) -> DMatrix<f64> {
    DMatrix::from_fn(m, m, |i, j| if i == j { 1.0 } else { rho })
}

/// A random covariance `A Aᵀ` of rank `rank` with coordinate scales spread
/// over `10^±scale_decades`.
fn random_covariance(rng: &mut StdRng, m: usize, rank: usize, scale_decades: f64) -> DMatrix<f64> {
    let a = DMatrix::from_fn(m, rank, |_, _| rng.sample::<f64, _>(StandardNormal));
    let scales: Vec<f64> = (0..m)
        .map(|_| 10f64.powf(rng.random_range(-scale_decades..=scale_decades)))
        .collect();
    let c = &a * a.transpose();
    DMatrix::from_fn(m, m, |i, j| {
        // Symmetric by construction.
        let v = if i <= j { c[(i, j)] } else { c[(j, i)] };
        v * scales[i] * scales[j]
    })
}

/// The smallest `c` with `P(Binomial(n, q) > c) ≤ alpha`: the number of
/// failures of a bound that holds with probability `1 − q` which is
/// exceeded by chance only with probability `alpha`.
fn binomial_cap(n: usize, q: f64, alpha: f64) -> usize {
    let mut pmf = (1.0 - q).powi(n as i32);
    let mut cdf = pmf;
    let mut c = 0;
    while 1.0 - cdf > alpha {
        pmf *= (n - c) as f64 / (c + 1) as f64 * q / (1.0 - q);
        cdf += pmf;
        c += 1;
    }
    c
}

/// Whether `estimate` misses `exact` by more than its bound (plus the
/// rounding of the reference, 1e-15 relative).
fn misses(estimate: &Estimate, exact: f64) -> bool {
    (estimate.value() - exact).abs() > estimate.error_bound() + 1e-15 * exact.abs()
}

/// Checks a list of `(estimate, exact)` against their bounds: a
/// deterministic bound must always hold; the others fail by chance with
/// probability `1 − confidence` each, and their failures are capped at the
/// count exceeded with probability 1e-6.
fn assert_bounds_hold(results: &[(Estimate, f64)], what: &str) {
    let mut random = 0;
    let mut failures = 0;
    for (estimate, exact) in results {
        if estimate.confidence() == 1.0 {
            assert!(
                !misses(estimate, *exact),
                "{what}: deterministic bound violated: {estimate:?} vs {exact:e}"
            );
        } else {
            random += 1;
            failures += misses(estimate, *exact) as usize;
        }
    }
    let cap = binomial_cap(random, 0.01, 1e-6);
    println!(
        "{what}: {} cases, {random} random bounds, {failures} misses (cap {cap})",
        results.len()
    );
    assert!(
        failures <= cap,
        "{what}: {failures} of {random} bounds missed (cap {cap})"
    );
}

/// Runs `estimate` with `trials` seeds at absolute error `target` and
/// confidence 0.9: every bound must be within the target, and its misses of
/// `exact` are Binomial(trials, ≤ 0.1) if the contract holds, so they may
/// exceed the cap only with probability 1e-6.
fn assert_coverage(
    what: &str,
    trials: u64,
    target: f64,
    exact: f64,
    estimate: impl Fn(&OrthantOptions) -> Estimate,
) {
    let mut missed = 0;
    for seed in 0..trials {
        let options = OrthantOptions::default()
            .with_absolute_error(target)
            .with_confidence(0.9)
            .with_seed(seed);
        let e = estimate(&options);
        assert_eq!(e.confidence(), 0.9, "{what}: {e:?}");
        assert!(e.error_bound() <= target, "{what}: {e:?}");
        missed += misses(&e, exact) as usize;
    }
    let cap = binomial_cap(trials as usize, 0.1, 1e-6);
    println!("{what}: {missed} misses in {trials} (cap {cap})");
    assert!(
        missed <= cap,
        "{what}: {missed} misses in {trials} (cap {cap})"
    );
}

#[test]
fn orthant_at_zero_in_three_dimensions_is_the_arcsine_formula() {
    // P(Z ≤ 0) = 1/8 + (asin ρ₁₂ + asin ρ₁₃ + asin ρ₂₃)/(4π).
    let mut rng = StdRng::seed_from_u64(11);
    let options = OrthantOptions::default();
    let mut results = Vec::new();
    for _ in 0..30 {
        let c = random_covariance(&mut rng, 3, 3, 3.0);
        let r = |i: usize, j: usize| c[(i, j)] / (c[(i, i)] * c[(j, j)]).sqrt();
        let exact = 0.125
            + (r(0, 1).asin() + r(0, 2).asin() + r(1, 2).asin()) / (4.0 * std::f64::consts::PI);
        let p = normal::orthant_probability(&c, &DVector::zeros(3), &options).unwrap();
        assert!(p.error_bound() <= options.absolute_error, "{p:?}");
        let q = normal::exceedance_probability(&c, &DVector::zeros(3), &options).unwrap();
        results.push((p, exact));
        results.push((q, 1.0 - exact));
    }
    assert_bounds_hold(&results, "arcsine formula");
}

#[test]
fn equicorrelated_half_at_zero_is_one_over_m_plus_one() {
    let options = OrthantOptions::default();
    let mut results = Vec::new();
    for m in 3..=10 {
        let c = equicorrelated(m, 0.5);
        let p = normal::orthant_probability(&c, &DVector::zeros(m), &options).unwrap();
        assert!(p.error_bound() <= 1e-6, "m = {m}: {p:?}");
        results.push((p, 1.0 / (m as f64 + 1.0)));
    }
    assert_bounds_hold(&results, "1/(m + 1)");
}

#[test]
fn independent_margins_give_the_product() {
    let mut rng = StdRng::seed_from_u64(12);
    let options = OrthantOptions::default();
    let mut results = Vec::new();
    for m in [3, 4, 6, 9] {
        for _ in 0..5 {
            let variances: Vec<f64> = (0..m)
                .map(|_| 10f64.powf(rng.random_range(-12.0..12.0)))
                .collect();
            let c = DMatrix::from_diagonal(&DVector::from_vec(variances.clone()));
            let h = DVector::from_fn(m, |j, _| rng.random_range(-1.0..2.5) * variances[j].sqrt());
            let product: f64 = (0..m)
                .map(|j| normal::cdf(h[j] / variances[j].sqrt()))
                .product();
            let p = normal::orthant_probability(&c, &h, &options).unwrap();
            let q = normal::exceedance_probability(&c, &h, &options).unwrap();
            assert!(p.error_bound() <= 1e-6 && q.error_bound() <= 1e-6);
            results.push((p, product));
            results.push((q, 1.0 - product));
        }
    }
    assert_bounds_hold(&results, "independent margins");
}

#[test]
fn equicorrelated_values_match_the_reference_table() {
    let rows = reference_rows();
    assert!(rows.len() >= 150, "{} rows", rows.len());
    let mut results = Vec::new();
    let mut skipped = 0;
    for (rho, h, orthant, exceedance) in &rows {
        let m = h.len();
        // The default target up to five dimensions; 1e-5 beyond, and a
        // budget of 2·10⁷ evaluations, to keep the test short (the lattice
        // rule converges slowly where the orthant is neither small nor near
        // one in many dimensions).
        let target = if m <= 5 { 1e-6 } else { 1e-5 };
        let options = OrthantOptions::default()
            .with_absolute_error(target)
            .with_max_evaluations(20_000_000);
        let c = equicorrelated(m, *rho);
        let h = DVector::from_vec(h.clone());
        for (result, exact) in [
            (normal::orthant_probability(&c, &h, &options), *orthant),
            (
                normal::exceedance_probability(&c, &h, &options),
                *exceedance,
            ),
        ] {
            match result {
                Ok(e) => {
                    assert!(e.error_bound() <= target, "{e:?}");
                    results.push((e, exact));
                }
                Err(Error::NoConvergence { .. }) if m > 5 => skipped += 1,
                Err(e) => panic!("{rho} {h:?}: {e}"),
            }
        }
    }
    println!(
        "reference table: {skipped} of {} skipped (budget)",
        2 * rows.len()
    );
    assert!(skipped <= rows.len() / 10, "{skipped} skipped");
    assert_bounds_hold(&results, "equicorrelated reference table");
}

#[test]
fn far_tail_exceedances_keep_their_relative_accuracy() {
    // Where the exceedance is small the inclusion–exclusion bracket is
    // tight: the bound is deterministic and relative, far below 1e-6.
    let options = OrthantOptions::default();
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    let mut worst_bound: f64 = 0.0;
    for (rho, h, _, exceedance) in reference_rows() {
        if exceedance > 1e-9 {
            continue;
        }
        let m = h.len();
        let q = normal::exceedance_probability(
            &equicorrelated(m, rho),
            &DVector::from_vec(h.clone()),
            &options,
        )
        .unwrap();
        let relative = ((q.value() - exceedance) / exceedance).abs();
        worst = worst.max(relative);
        worst_bound = worst_bound.max(q.error_bound() / exceedance);
        assert_eq!(q.confidence(), 1.0, "{rho} {h:?}: {q:?}");
        assert!(
            relative <= q.error_bound() / exceedance + 1e-12,
            "{rho} {h:?}: {q:?} vs {exceedance:e}"
        );
        // The bracket itself is relatively tight: its half-width is at most
        // 6.4% of the value here (the worst case is ρ = 0.9 in nine
        // dimensions, where pairs overlap most; 1e-4 and below for ρ ≤ ½).
        assert!(
            q.error_bound() <= 0.07 * exceedance,
            "{rho} {h:?}: {q:?} vs {exceedance:e}"
        );
        if rho <= 0.5 {
            assert!(
                q.error_bound() <= 1e-4 * exceedance,
                "{rho} {h:?}: {q:?} vs {exceedance:e}"
            );
        }
        checked += 1;
    }
    println!(
        "far tails: {checked} rows, worst relative error {worst:.2e}, worst relative bound {worst_bound:.2e}"
    );
    assert!(checked >= 20, "{checked}");
    // Down to about 1e-33 (h = 12): still not zero.
    let q = normal::exceedance_probability(
        &equicorrelated(9, 0.5),
        &DVector::from_element(9, 12.0),
        &options,
    )
    .unwrap();
    assert!(q.value() > 1e-33 && q.value() < 1e-31, "{q:?}");
}

#[test]
fn duplicated_coordinates_give_the_lower_dimensional_answer() {
    // A covariance of rank m − 1: coordinate 3 is coordinate 0 scaled by 4
    // (or by −4), so its event is implied by, or adds a limit to, the others.
    let options = OrthantOptions::default();
    let mut results = Vec::new();
    for (rho, h, orthant, exceedance) in reference_rows().into_iter().filter(|r| r.1.len() == 3) {
        for (sign, extra) in [(1.0, 0.0), (1.0, 0.75), (-1.0, 40.0)] {
            let base = equicorrelated(3, rho);
            let source = |k: usize| if k == 3 { 0 } else { k };
            let scale = |k: usize| if k == 3 { 4.0 * sign } else { 1.0 };
            let c = DMatrix::from_fn(4, 4, |i, j| {
                base[(source(i), source(j))] * scale(i) * scale(j)
            });
            // Z₃ = ±4 Z₀: the threshold 4(h₀ + extra) (same sign) is implied
            // by Z₀ ≤ h₀; for −4 Z₀ ≤ 4·40 the event has probability 1 − Φ(−40).
            let mut h4 = h.clone();
            h4.push(4.0 * (if sign > 0.0 { h[0] + extra } else { extra }));
            let h4 = DVector::from_vec(h4);
            let p = normal::orthant_probability(&c, &h4, &options).unwrap();
            let q = normal::exceedance_probability(&c, &h4, &options).unwrap();
            results.push((p, orthant));
            results.push((q, exceedance));
        }
    }
    assert!(results.len() >= 150);
    assert_bounds_hold(&results, "duplicated coordinate");

    // X₁, X₂ independent, X₃ = X₁ + X₂, X₄ independent: at h = 0 the third
    // limit is implied, so P = 1/4 · 1/2.
    let c = DMatrix::from_row_slice(
        4,
        4,
        &[
            1.0, 0.0, 1.0, 0.0, //
            0.0, 1.0, 1.0, 0.0, //
            1.0, 1.0, 2.0, 0.0, //
            0.0, 0.0, 0.0, 1.0,
        ],
    );
    let p = normal::orthant_probability(&c, &DVector::zeros(4), &options).unwrap();
    assert_bounds_hold(&[(p, 0.125)], "implied sum");
}

#[test]
fn zero_variance_coordinates_are_decided_exactly() {
    let options = OrthantOptions::default();
    let mut c = DMatrix::<f64>::zeros(4, 4);
    c.view_mut((0, 0), (3, 3))
        .copy_from(&equicorrelated(3, 0.5));
    // Z₃ = 0: never above a non-negative threshold, always above a negative one.
    let at_zero =
        normal::orthant_probability(&equicorrelated(3, 0.5), &DVector::zeros(3), &options).unwrap();
    let p = normal::orthant_probability(&c, &DVector::zeros(4), &options).unwrap();
    // Same computation after dropping the coordinate: the same numbers.
    assert_eq!(p, at_zero);
    let h = DVector::from_vec(vec![0.0, 0.0, 0.0, -1e-300]);
    let p = normal::orthant_probability(&c, &h, &options).unwrap();
    let q = normal::exceedance_probability(&c, &h, &options).unwrap();
    assert!(p.is_exact() && p.value() == 0.0, "{p:?}");
    assert!(q.is_exact() && q.value() == 1.0, "{q:?}");
    // Infinite thresholds: +∞ drops the coordinate, −∞ empties the orthant.
    let h = DVector::from_vec(vec![f64::INFINITY, 0.0, 0.0]);
    let p = normal::orthant_probability(&equicorrelated(3, 0.5), &h, &options).unwrap();
    assert!(
        p.is_exact() && (p.value() - 1.0 / 3.0).abs() < tol::CLOSED_FORM,
        "{p:?}"
    );
    let h = DVector::from_vec(vec![f64::NEG_INFINITY, 0.0, 0.0]);
    let q = normal::exceedance_probability(&equicorrelated(3, 0.5), &h, &options).unwrap();
    assert!(q.is_exact() && q.value() == 1.0);
}

#[test]
fn agrees_with_plain_monte_carlo() {
    // Full-rank and rank-deficient covariances (rank 3 in 6 dimensions, as
    // for K − 1 > d margins), awkward scales; 10⁶ plain Monte Carlo samples.
    let mut rng = StdRng::seed_from_u64(13);
    let options = OrthantOptions::default().with_absolute_error(1e-5);
    let samples = 1_000_000;
    for (m, rank) in [(5, 5), (6, 3), (8, 8)] {
        let c = random_covariance(&mut rng, m, rank, 2.0);
        let sd: Vec<f64> = (0..m).map(|j| c[(j, j)].sqrt()).collect();
        let h = DVector::from_fn(m, |j, _| rng.random_range(0.0..2.5) * sd[j]);
        let q = normal::exceedance_probability(&c, &h, &options).unwrap();
        // Z = A g with C = A Aᵀ from the eigendecomposition (C may be singular).
        let eigen = c.clone().symmetric_eigen();
        let a = &eigen.eigenvectors
            * DMatrix::from_diagonal(&eigen.eigenvalues.map(|l| l.max(0.0).sqrt()));
        let mut hits = 0usize;
        for _ in 0..samples {
            let g = DVector::from_fn(m, |_, _| rng.sample::<f64, _>(StandardNormal));
            let z = &a * g;
            hits += (0..m).any(|j| z[j] > h[j]) as usize;
        }
        let mc = hits as f64 / samples as f64;
        let sigma = (mc * (1.0 - mc) / samples as f64).sqrt();
        println!("m = {m}, rank {rank}: {q:?}, Monte Carlo {mc} ± {sigma:.1e}");
        assert!(
            (q.value() - mc).abs() <= q.error_bound() + tol::MONTE_CARLO_SIGMAS * sigma,
            "m = {m}, rank {rank}: {q:?} vs {mc} ± {sigma:e}"
        );
    }
}

#[test]
fn the_bound_holds_at_its_confidence() {
    // 300 seeds on P(Z ≤ 0) = 1/6 (m = 5, ρ = ½), where the bracket is
    // loose and the lattice rule decides. Each bound holds with probability
    // 0.9 (asked for, to make misses frequent enough to count); the number
    // of misses is Binomial(300, ≤ 0.1) if the contract holds, and exceeds
    // the cap only with probability 1e-6.
    let c = equicorrelated(5, 0.5);
    assert_coverage("coverage", 300, 1e-4, 1.0 / 6.0, |options| {
        normal::orthant_probability(&c, &DVector::zeros(5), options).unwrap()
    });
}

#[test]
fn result_does_not_depend_on_the_thread_count() {
    let mut rng = StdRng::seed_from_u64(14);
    let c = random_covariance(&mut rng, 7, 7, 1.0);
    let h = DVector::from_fn(7, |j, _| 0.5 * c[(j, j)].sqrt());
    let options = OrthantOptions::default()
        .with_absolute_error(1e-5)
        .with_seed(99);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            (
                normal::orthant_probability(&c, &h, &options).unwrap(),
                normal::exceedance_probability(&c, &h, &options).unwrap(),
            )
        })
    };
    let one = run(1);
    assert!(
        one.0.confidence() < 1.0,
        "the lattice rule must run: {one:?}"
    );
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    // Another seed gives another (valid) estimate.
    let other = normal::orthant_probability(&c, &h, &options.clone().with_seed(100)).unwrap();
    assert_ne!(other.value(), one.0.value());
}

#[test]
fn bad_input_gets_typed_errors() {
    let options = OrthantOptions::default();
    let c3 = equicorrelated(3, 0.5);
    let h3 = DVector::zeros(3);
    let e = normal::orthant_probability(&DMatrix::zeros(3, 2), &h3, &options).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotSquare {
                name: "covariance",
                ..
            }
        ),
        "{e:?}"
    );
    let e = normal::orthant_probability(&DMatrix::zeros(0, 0), &DVector::zeros(0), &options)
        .unwrap_err();
    assert!(matches!(e, Error::Empty { name: "covariance" }), "{e:?}");
    let e = normal::orthant_probability(&c3, &DVector::zeros(4), &options).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                name: "thresholds",
                ..
            }
        ),
        "{e:?}"
    );
    let mut nan = c3.clone();
    nan[(1, 2)] = f64::NAN;
    let e = normal::orthant_probability(&nan, &h3, &options).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFiniteEntry {
                name: "covariance",
                row: 1,
                column: Some(2),
                ..
            }
        ),
        "{e:?}"
    );
    let e =
        normal::exceedance_probability(&c3, &DVector::from_vec(vec![0.0, f64::NAN, 0.0]), &options)
            .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFiniteEntry {
                name: "thresholds",
                row: 1,
                ..
            }
        ),
        "{e:?}"
    );
    let mut asymmetric = c3.clone();
    asymmetric[(0, 1)] = 0.4;
    let e = normal::orthant_probability(&asymmetric, &h3, &options).unwrap_err();
    assert!(matches!(e, Error::NotSymmetric { .. }), "{e:?}");
    // Correlations 0.9, 0.9, −0.9: not positive semi-definite.
    let indefinite =
        DMatrix::from_row_slice(3, 3, &[1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0]);
    let e = normal::orthant_probability(&indefinite, &h3, &options).unwrap_err();
    assert!(
        matches!(e, Error::NotPositiveDefinite { min_eigenvalue, .. } if min_eigenvalue < 0.0),
        "{e:?}"
    );
    let mut negative = c3.clone();
    negative[(2, 2)] = -1.0;
    let e = normal::orthant_probability(&negative, &h3, &options).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "covariance",
                ..
            }
        ),
        "{e:?}"
    );
    // A zero variance with a nonzero covariance is not semi-definite.
    let mut zero = c3.clone();
    zero[(2, 2)] = 0.0;
    let e = normal::orthant_probability(&zero, &h3, &options).unwrap_err();
    assert!(matches!(e, Error::NotPositiveDefinite { .. }), "{e:?}");
    for (bad, name) in [
        (
            OrthantOptions::default().with_absolute_error(0.0),
            "absolute_error",
        ),
        (
            OrthantOptions::default().with_absolute_error(f64::NAN),
            "absolute_error",
        ),
        (OrthantOptions::default().with_confidence(1.0), "confidence"),
        (
            OrthantOptions::default().with_max_evaluations(0),
            "max_evaluations",
        ),
    ] {
        let e = normal::orthant_probability(&c3, &h3, &bad).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: n, .. } if n == name),
            "{e:?}"
        );
    }
    // A target out of reach within the budget: a typed NoConvergence.
    let strict = OrthantOptions::default()
        .with_absolute_error(1e-12)
        .with_max_evaluations(100_000);
    let e = normal::orthant_probability(&equicorrelated(6, 0.3), &DVector::zeros(6), &strict)
        .unwrap_err();
    assert!(matches!(e, Error::NoConvergence { .. }), "{e:?}");
}

#[test]
fn weighted_sums_hold_their_bound_at_its_confidence() {
    // 0.3·P(some of 5 exceed 0) + 0.5·P(some of 4 exceed 0) + 0.2·P(some of
    // 2 exceed 0), all equicorrelated ρ = ½: exactly 0.3·5/6 + 0.5·4/5 +
    // 0.2·2/3. One bound for the whole sum at confidence 0.9; its misses
    // over 200 seeds are Binomial(200, ≤ 0.1) if the contract holds.
    let (c5, c4, c2) = (
        equicorrelated(5, 0.5),
        equicorrelated(4, 0.5),
        equicorrelated(2, 0.5),
    );
    let (h5, h4, h2) = (DVector::zeros(5), DVector::zeros(4), DVector::zeros(2));
    let exact = 0.3 * 5.0 / 6.0 + 0.5 * 4.0 / 5.0 + 0.2 * 2.0 / 3.0;
    let terms = [(0.3, &c5, &h5), (0.5, &c4, &h4), (0.2, &c2, &h2)];
    assert_coverage("weighted sum coverage", 200, 1e-4, exact, |options| {
        normal::orthant::weighted_exceedance_sum(&terms, options).unwrap()
    });
}

#[test]
fn weighted_sums_of_closed_forms_and_brackets_are_certain() {
    // Two- and one-dimensional terms are closed forms: the sum is exact.
    let c2 = equicorrelated(2, 0.5);
    let c1 = DMatrix::from_element(1, 1, 4.0);
    let (h2, h1) = (DVector::zeros(2), DVector::from_element(1, 2.0));
    let sum = normal::orthant::weighted_exceedance_sum(
        &[(0.25, &c2, &h2), (0.75, &c1, &h1)],
        &OrthantOptions::default(),
    )
    .unwrap();
    let exact = 0.25 * 2.0 / 3.0 + 0.75 * normal::cdf(-1.0);
    assert!(sum.is_exact());
    assert!((sum.value() - exact).abs() <= 1e-15, "{sum:?} vs {exact}");
    // Far in the tail the inclusion–exclusion bracket decides: a certain
    // bound, and the value matches the single-term call's.
    let c5 = equicorrelated(5, 0.5);
    let h5 = DVector::from_element(5, 9.0);
    let options = OrthantOptions::default();
    let single = normal::exceedance_probability(&c5, &h5, &options).unwrap();
    let sum = normal::orthant::weighted_exceedance_sum(&[(2.0, &c5, &h5)], &options).unwrap();
    assert_eq!(sum.confidence(), 1.0);
    assert!((sum.value() - 2.0 * single.value()).abs() <= 1e-15 * single.value());
    assert!((sum.error_bound() - 2.0 * single.error_bound()).abs() <= 1e-15 * single.value());
}

#[test]
fn weighted_sums_reject_bad_weights_by_name() {
    let c = equicorrelated(3, 0.5);
    let h = DVector::zeros(3);
    for weight in [-0.5, f64::NAN, f64::INFINITY] {
        let err = normal::orthant::weighted_exceedance_sum(
            &[(weight, &c, &h)],
            &OrthantOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameter { name: "weight", .. }),
            "{weight}: {err:?}"
        );
    }
    // A bad term is reported as exceedance_probability reports it.
    let short = DVector::zeros(2);
    let err =
        normal::orthant::weighted_exceedance_sum(&[(1.0, &c, &short)], &OrthantOptions::default())
            .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DimensionMismatch {
                name: "thresholds",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn weighted_sums_of_small_exceedances_hold_their_bound_at_its_confidence() {
    // The regime of a multi-class robust error: exceedances below ½, so
    // every term is a sum of first occurrences, each integrated on its own
    // lattice from a first stage of a few points. Three rows of the 80-digit
    // table (nine and seven dimensions, one with unequal thresholds), one
    // bound for the weighted sum at confidence 0.9; over 200 seeds its
    // misses are Binomial(200, ≤ 0.1) if the contract holds.
    let rows = reference_rows();
    let find = |m: usize, rho: f64, h0: f64| {
        rows.iter()
            .find(|(r, h, _, _)| h.len() == m && *r == rho && h[0] == h0)
            .unwrap_or_else(|| panic!("no row m = {m}, ρ = {rho}, h₀ = {h0}"))
            .clone()
    };
    let chosen = [
        (0.4, find(9, 0.5, 2.5)),
        (0.3, find(7, 0.3, 1.5)),
        (0.3, find(9, 0.95, 2.287)),
    ];
    let inputs: Vec<(f64, DMatrix<f64>, DVector<f64>)> = chosen
        .iter()
        .map(|(w, (rho, h, _, _))| {
            (
                *w,
                equicorrelated(h.len(), *rho),
                DVector::from_vec(h.clone()),
            )
        })
        .collect();
    let exact: f64 = chosen.iter().map(|(w, (_, _, _, e))| w * e).sum();
    let terms: Vec<_> = inputs.iter().map(|(w, c, h)| (*w, c, h)).collect();
    assert_coverage("small exceedances coverage", 200, 1e-5, exact, |options| {
        normal::orthant::weighted_exceedance_sum(&terms, options).unwrap()
    });
}
