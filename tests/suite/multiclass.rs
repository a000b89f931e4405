//! Multi-class models: the bivariate normal distribution function, exact
//! attacks, orthant probabilities and robust error for K classes.

use manifold_robustness::normal;

const BIVARIATE: &str = include_str!("../data/bivariate_reference.csv");

/// Rows `h, k, ρ, Φ₂` of the committed 30-digit reference table.
fn bivariate_rows() -> Vec<[f64; 4]> {
    let mut lines = BIVARIATE.lines();
    assert_eq!(lines.next(), Some("h,k,rho,cdf"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect()
}

/// The contract of `normal::bivariate_cdf`: relative error ≤ 1e-12 for
/// every value down to 1e-300 and |ρ| ≤ 1 − 1e-6.
const BIVARIATE_RELATIVE: f64 = 1e-12;

#[test]
fn bivariate_cdf_matches_the_reference_table() {
    let rows = bivariate_rows();
    assert!(rows.len() > 500, "{} rows", rows.len());
    let tails = rows.iter().filter(|r| r[3] < 1e-250).count();
    let near_one = rows.iter().filter(|r| r[2].abs() >= 0.9999).count();
    assert!(
        tails >= 20 && near_one >= 50,
        "{tails} tail rows, {near_one} with |ρ| → 1"
    );
    let mut worst = (0.0f64, [0.0; 4], 0.0);
    for r in &rows {
        let got = normal::bivariate_cdf(r[0], r[1], r[2]);
        let err = ((got - r[3]) / r[3]).abs();
        // A NaN result is kept as the worst, and then fails the check.
        if err.is_nan() || err > worst.0 {
            worst = (err, *r, got);
        }
        // Symmetric in (h, k).
        assert_eq!(got, normal::bivariate_cdf(r[1], r[0], r[2]));
    }
    println!(
        "bivariate_cdf: worst relative error {:.2e} at {:?} (got {:e})",
        worst.0, worst.1, worst.2
    );
    assert!(
        worst.0 <= BIVARIATE_RELATIVE,
        "worst {:e} at {:?}: got {:e}",
        worst.0,
        worst.1,
        worst.2
    );
}

#[test]
fn bivariate_complement_keeps_relative_accuracy() {
    // 1 − Φ₂(h, k; ρ) = Φ(−h) + Φ(−k) − Φ₂(−h, −k; ρ): checked on the table's
    // mirrored rows, where the complement is the small number.
    let mut checked = 0;
    for r in bivariate_rows() {
        let (h, k, rho, both) = (-r[0], -r[1], r[2], r[3]);
        let sum = normal::cdf(-h) + normal::cdf(-k);
        let want = sum - both;
        // Only where the reference difference itself is well conditioned.
        if want < 0.5 * sum {
            continue;
        }
        let got = normal::bivariate_cdf_complement(h, k, rho);
        assert!(
            ((got - want) / want).abs() < 4e-12,
            "{h}, {k}, {rho}: {got} vs {want}"
        );
        checked += 1;
    }
    assert!(checked > 300, "{checked}");
    // A complement of about 1e-20 keeps its digits (1 − Φ₂ would be 0).
    let tiny = normal::bivariate_cdf_complement(9.5, 9.5, 0.3);
    assert!(tiny > 1e-21 && tiny < 1e-20, "{tiny}");
    // Both at once has probability ≈ e^{−9.5²/1.3}, about 1e-9 of the union.
    let relative_gap = 1.0 - tiny / (2.0 * normal::cdf(-9.5));
    assert!(relative_gap > 0.0 && relative_gap < 1e-8, "{relative_gap}");
}

#[test]
fn bivariate_cdf_at_zero_correlation_is_the_product_of_margins() {
    let mut checked = 0;
    for &h in &[-37.0, -20.0, -3.0, 0.0, 1.5, 8.0] {
        for &k in &[-30.0, -1.0, 0.5, 6.0] {
            let want = normal::cdf(h) * normal::cdf(k);
            if want < 1e-300 {
                continue; // outside the accuracy contract
            }
            checked += 1;
            // Tiny |ρ| goes through the quadrature, not the ρ = 0 shortcut.
            for rho in [0.0, 1e-300, -1e-300] {
                let got = normal::bivariate_cdf(h, k, rho);
                assert!(
                    ((got - want) / want).abs() < 1e-12,
                    "{h}, {k}, {rho}: {got} vs {want}"
                );
            }
        }
    }
    assert_eq!(checked, 22);
}

#[test]
fn bivariate_cdf_tends_to_its_limits_as_rho_approaches_one() {
    // Φ₂(h, k; ρ) → Φ(min(h, k)) as ρ → 1, and the gap shrinks with 1 − ρ.
    for &(h, k) in &[(0.5f64, 1.0f64), (-3.0, -2.0), (-20.0, -19.0)] {
        let limit = normal::cdf(h.min(k));
        let close = normal::bivariate_cdf(h, k, 1.0 - 1e-6);
        // The gap P(X ≤ h, Y > k) is far below 1e-6 of the value here.
        assert!(
            ((limit - close) / limit).abs() < 1e-6,
            "{h} {k}: {close} vs {limit}"
        );
        assert!(
            close <= limit * (1.0 + 1e-14),
            "{h} {k}: {close} vs {limit}"
        );
    }
}
