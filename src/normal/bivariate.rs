//! The bivariate normal distribution function and its complement.

use super::{FRAC_1_SQRT_2PI, cdf, half_square_split, inverse_mills, ln_cdf, pdf};

/// The bivariate normal distribution function
/// Φ₂(h, k; ρ) = P(X ≤ h, Y ≤ k) for standard normals X, Y with
/// correlation ρ.
///
/// # Method
///
/// For |ρ| < 1, with s = √(1 − ρ²),
///
/// ```text
/// Φ₂(h, k; ρ) = ∫_{−∞}^{h} φ(x) Φ((k − ρx)/s) dx      (h ≤ k after swapping).
/// ```
///
/// The integrand is positive and log-concave: g(x) = −x²/2 + ln Φ(z(x)) has
/// g″ ∈ [−1/s², −1]. The integral is written as e^{g(x₀)} · J with x₀ the
/// mode of g on (−∞, h] (found by Brent's method on g′, which is
/// decreasing), and J = ∫ exp(g(x) − g(x₀)) dx is integrated by adaptive
/// Gauss–Kronrod (7–15) quadrature on [x₀ − 12, min(h, x₀ + 12)] (outside,
/// concavity bounds the integrand by e^{−72}), starting from panels at the
/// mode's own width 1/√(−g″(x₀)) and around the transition x = k/ρ, whose
/// width is s. The ratio g(x) − g(x₀) is formed from differences
/// (−(x − x₀)(x + x₀)/2 and ln Φ(z) − ln Φ(z₀)), so nothing under- or
/// overflows and the relative accuracy does not depend on how small the
/// value is. The special cases are exact: ρ = 0 gives Φ(h)Φ(k), ρ = 1 gives
/// Φ(min(h, k)), ρ = −1 gives P(−k < X ≤ h), infinite limits reduce to Φ.
///
/// # Accuracy
///
/// Relative error at most 1e-12 for every value down to 1e-300, for h, k
/// in [−38, 8] and |ρ| ≤ 1 − 1e-6 (checked against 30-digit mpmath values,
/// `tests/data/bivariate_reference.csv` made by
/// `scripts/bivariate_reference.py`). For the upper tail
/// 1 − Φ₂(h, k; ρ) use [`bivariate_cdf_complement`], which avoids the
/// cancellation.
///
/// Returns NaN when an argument is NaN or |ρ| > 1.
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// // ρ = 0: the product of the margins.
/// let p = normal::bivariate_cdf(0.3, -1.2, 0.0);
/// assert!((p / (normal::cdf(0.3) * normal::cdf(-1.2)) - 1.0).abs() < 1e-14);
/// // Φ₂(0, 0; ρ) = 1/4 + asin(ρ)/(2π).
/// let q = normal::bivariate_cdf(0.0, 0.0, 0.5);
/// assert!((q - (0.25 + 0.5f64.asin() / (2.0 * std::f64::consts::PI))).abs() < 1e-15);
/// // Far in the tail the relative accuracy holds: Φ₂(−30, −30; 0.5) ≈ 1.6e-264.
/// let tiny = normal::bivariate_cdf(-30.0, -30.0, 0.5);
/// assert!(tiny > 1e-265 && tiny < 1e-263);
/// ```
pub fn bivariate_cdf(h: f64, k: f64, rho: f64) -> f64 {
    if h.is_nan() || k.is_nan() || rho.is_nan() || rho.abs() > 1.0 {
        return f64::NAN;
    }
    // Symmetric in (h, k): integrate over the smaller limit.
    let (h, k) = if h <= k { (h, k) } else { (k, h) };
    if h == f64::NEG_INFINITY {
        return 0.0;
    }
    if k == f64::INFINITY {
        return cdf(h);
    }
    if rho == 0.0 {
        return cdf(h) * cdf(k);
    }
    if rho == 1.0 {
        return cdf(h);
    }
    if rho == -1.0 {
        return interval_probability(-k, h);
    }
    // The Fréchet bounds max(0, Φ(h) − Φ(−k)) ≤ Φ₂ ≤ Φ(h) (h ≤ k) hold
    // exactly; the quadrature's rounding can step past them (1 + 2⁻⁵² for
    // h, k ≫ 1), so the result is kept inside.
    let upper = cdf(h);
    let lower = (upper - cdf(-k)).max(0.0);
    let p = bivariate_integral(h, k, rho);
    if p.is_nan() {
        p
    } else {
        p.max(lower).min(upper)
    }
}

/// The complement 1 − Φ₂(h, k; ρ) = P(X > h or Y > k), computed without
/// cancellation as Φ(−h) + Φ(−k) − Φ₂(−h, −k; ρ): the union of two events is
/// at least half the sum of their probabilities, so the subtraction loses
/// at most one bit and the relative accuracy of [`bivariate_cdf`] carries
/// over (a complement of 1e-20 keeps its digits).
///
/// Returns NaN when an argument is NaN or |ρ| > 1.
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// // P(X > 9 or Y > 9) ≈ 2·Φ(−9) for weak correlation: 1 − Φ₂ would round to 0.
/// let p = normal::bivariate_cdf_complement(9.0, 9.0, 0.1);
/// assert!((p / (2.0 * normal::cdf(-9.0)) - 1.0).abs() < 1e-12);
/// ```
pub fn bivariate_cdf_complement(h: f64, k: f64, rho: f64) -> f64 {
    let both = bivariate_cdf(-h, -k, rho);
    if both.is_nan() {
        return both;
    }
    let sum = cdf(-h) + cdf(-k);
    (sum - both).max(0.0).max(cdf(-h).max(cdf(-k)))
}

/// P(a < X ≤ b) for a standard normal X (0 when b ≤ a), from the tail that
/// avoids cancellation.
fn interval_probability(a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    if a >= 0.0 {
        cdf(-a) - cdf(-b)
    } else if b <= 0.0 {
        cdf(b) - cdf(a)
    } else {
        1.0 - cdf(a) - cdf(-b)
    }
}

/// φ(z)/Φ(z) for any z.
fn mills(z: f64) -> f64 {
    if z <= 0.0 {
        inverse_mills(z)
    } else {
        pdf(z) / cdf(z)
    }
}

/// Half-width, in the integration variable, beyond which the log-concave
/// integrand is below e^{−72} of its peak (g″ ≤ −1).
const BIVARIATE_REACH: f64 = 12.0;
/// Target of the adaptive quadrature: the sum of the panels' |K15 − G7|
/// (a pessimistic bound on the error of K15) relative to the integral.
const BIVARIATE_QUADRATURE_TOLERANCE: f64 = 1e-14;
/// Panel cap of the adaptive quadrature (far above what is ever needed).
const BIVARIATE_MAX_PANELS: usize = 2000;

/// Gauss–Kronrod 15-point nodes on [−1, 1] (non-negative half, descending),
/// QUADPACK `qk15`.
const GK15_NODES: [f64; 8] = [
    0.991_455_371_120_812_639_206_854_697_526_329,
    0.949_107_912_342_758_524_526_189_684_047_851,
    0.864_864_423_359_769_072_789_712_788_640_926,
    0.741_531_185_599_394_439_863_864_773_280_788,
    0.586_087_235_467_691_130_294_144_845_693_013,
    0.405_845_151_377_397_166_906_606_412_076_961,
    0.207_784_955_007_898_467_600_689_403_773_245,
    0.0,
];
/// Kronrod weights for [`GK15_NODES`].
const GK15_WEIGHTS: [f64; 8] = [
    0.022_935_322_010_529_224_963_732_008_058_970,
    0.063_092_092_629_978_553_290_700_663_189_204,
    0.104_790_010_322_250_183_839_876_322_541_518,
    0.140_653_259_715_525_918_745_189_590_510_238,
    0.169_004_726_639_267_902_826_583_426_598_550,
    0.190_350_578_064_785_409_913_256_402_421_014,
    0.204_432_940_075_298_892_414_161_999_234_649,
    0.209_482_141_084_727_828_012_999_174_891_714,
];
/// Gauss 7-point weights at the odd-indexed Kronrod nodes (1, 3, 5, 7).
const G7_WEIGHTS: [f64; 4] = [
    0.129_484_966_168_869_693_270_611_432_679_082,
    0.279_705_391_489_276_667_901_467_771_423_780,
    0.381_830_050_505_118_944_950_369_775_488_975,
    0.417_959_183_673_469_387_755_102_040_816_327,
];

/// Kronrod estimate and |Kronrod − Gauss| of ∫_a^b f.
fn gauss_kronrod(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    let center = 0.5 * (a + b);
    let half = 0.5 * (b - a);
    let mid = f(center);
    let mut kronrod = GK15_WEIGHTS[7] * mid;
    let mut gauss = G7_WEIGHTS[3] * mid;
    for i in 0..7 {
        let dx = half * GK15_NODES[i];
        let pair = f(center - dx) + f(center + dx);
        kronrod += GK15_WEIGHTS[i] * pair;
        if i % 2 == 1 {
            gauss += G7_WEIGHTS[i / 2] * pair;
        }
    }
    (kronrod * half, ((kronrod - gauss) * half).abs())
}

/// Adaptive Gauss–Kronrod over the panels between consecutive `breaks`
/// (sorted): the panel with the largest error estimate is halved until the
/// summed estimate is at most `relative` times the integral.
fn adaptive_integral(f: &impl Fn(f64) -> f64, breaks: &[f64], relative: f64) -> f64 {
    let mut panels: Vec<(f64, f64, f64, f64)> = breaks
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let (value, error) = gauss_kronrod(f, w[0], w[1]);
            (w[0], w[1], value, error)
        })
        .collect();
    loop {
        let total: f64 = panels.iter().map(|p| p.2).sum();
        let error: f64 = panels.iter().map(|p| p.3).sum();
        if error <= relative * total || panels.len() >= BIVARIATE_MAX_PANELS {
            return total;
        }
        let (worst, _) =
            panels.iter().enumerate().fold(
                (0, -1.0),
                |best, (i, p)| if p.3 > best.1 { (i, p.3) } else { best },
            );
        let (a, b, _, _) = panels[worst];
        let m = 0.5 * (a + b);
        if !(m > a && m < b) {
            // The panel cannot be split further in floating point.
            return total;
        }
        let (left, left_error) = gauss_kronrod(f, a, m);
        let (right, right_error) = gauss_kronrod(f, m, b);
        panels[worst] = (a, m, left, left_error);
        panels.push((m, b, right, right_error));
    }
}

/// Φ₂(h, k; ρ) for finite h ≤ k (k may be +∞ excluded) and 0 < |ρ| < 1
/// by the log-concave quadrature of [`bivariate_cdf`].
fn bivariate_integral(h: f64, k: f64, rho: f64) -> f64 {
    let s = ((1.0 - rho) * (1.0 + rho)).sqrt();
    let r = rho / s;
    let z = |x: f64| (k - rho * x) / s;
    // g′(x) = −x − (ρ/s) M(z(x)), decreasing.
    let slope = |x: f64| -x - r * mills(z(x));
    let x0 = if h.is_finite() && slope(h) >= 0.0 {
        h
    } else {
        let top = if h.is_finite() { h } else { 0.0 };
        // g′ → +∞ as x → −∞: walk left until it is positive.
        let mut low = top.min(0.0) - 1.0;
        let mut steps = 0;
        while slope(low) <= 0.0 && steps < 64 {
            low = top - 2.0 * (top - low);
            steps += 1;
        }
        let mut high = top;
        if !h.is_finite() {
            while slope(high) >= 0.0 && steps < 128 {
                high = 2.0 * high.abs() + 1.0;
                steps += 1;
            }
        }
        let brent = crate::roots::Brent {
            absolute: 1e-12,
            relative: 1e-12,
            max_iterations: 200,
            name: "bivariate mode",
        };
        match brent.solve(
            |x| {
                Ok(crate::roots::Evaluation {
                    value: slope(x),
                    accept: false,
                })
            },
            low,
            high,
            slope(low),
            slope(high),
        ) {
            Ok(root) => root.x,
            // The mode only places the panels; any point near it will do.
            Err(_) => 0.5 * (low + high),
        }
    };
    let z0 = z(x0);
    let ln_phi_z0 = ln_cdf(z0);
    let m0 = mills(z0);
    // M(z)(z + M(z)) = −M′(z) lies in (0, 1) for every z; computed directly
    // it overflowed for z₀ ≲ −1e154 (M ≈ −z, the sum a rounding residue
    // times 1e154), leaving a width of 0 and an endless loop below.
    let curvature = 1.0 + r * r * (m0 * (z0 + m0)).clamp(0.0, 1.0);
    let width = 1.0 / curvature.sqrt();

    let ratio = |x: f64| {
        let log = -0.5 * (x - x0) * (x + x0) + (ln_cdf(z(x)) - ln_phi_z0);
        log.exp()
    };
    let low = x0 - BIVARIATE_REACH;
    let high = if h.is_finite() {
        h.min(x0 + BIVARIATE_REACH)
    } else {
        x0 + BIVARIATE_REACH
    };
    let mut breaks = vec![low, high, x0];
    let mut scale = 0.25 * width;
    while scale > 0.0 && scale < BIVARIATE_REACH {
        breaks.push(x0 - scale);
        breaks.push(x0 + scale);
        scale *= 4.0;
    }
    let transition = k / rho;
    if transition.is_finite() {
        breaks.push(transition);
        let mut scale = s;
        while scale > 0.0 && scale < BIVARIATE_REACH {
            breaks.push(transition - scale);
            breaks.push(transition + scale);
            scale *= 4.0;
        }
    }
    breaks.retain(|b| *b >= low && *b <= high);
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    let integral = adaptive_integral(&ratio, &breaks, BIVARIATE_QUADRATURE_TOLERANCE);
    // e^{g(x₀)}/√(2π) = φ(x₀)Φ(z₀), directly while both are normal doubles.
    let density = pdf(x0);
    let mass = cdf(z0);
    if density > f64::MIN_POSITIVE && mass > f64::MIN_POSITIVE {
        density * mass * integral
    } else {
        let (hi, lo) = half_square_split(x0.abs());
        (hi + (lo + ln_phi_z0 + (integral * FRAC_1_SQRT_2PI).ln())).exp()
    }
}

#[cfg(test)]
mod bivariate_tests {
    use super::*;

    #[test]
    fn gauss_kronrod_integrates_polynomials_exactly() {
        // K15 is exact to degree 23, G7 to degree 13.
        let (k, e) = gauss_kronrod(&|x: f64| x.powi(12), -1.0, 1.0);
        assert!((k - 2.0 / 13.0).abs() < 1e-15 && e < 1e-15);
        let (k, _) = gauss_kronrod(&|x: f64| x.powi(22) + 1.0, 0.0, 2.0);
        assert!((k / (2f64.powi(23) / 23.0 + 2.0) - 1.0).abs() < 1e-14);
        let (k, _) = gauss_kronrod(&|x: f64| x.powi(24), -1.0, 1.0);
        assert!((k - 2.0 / 25.0).abs() > 1e-9, "degree 24 is beyond K15");
    }

    #[test]
    fn special_cases_are_exact() {
        assert_eq!(bivariate_cdf(0.3, 0.3, 1.0), cdf(0.3));
        assert_eq!(bivariate_cdf(0.3, -0.2, 1.0), cdf(-0.2));
        let want = 1.0 - cdf(-0.4) - cdf(-0.5);
        assert!((bivariate_cdf(0.5, 0.4, -1.0) - want).abs() < 1e-16);
        assert_eq!(bivariate_cdf(-0.5, 0.4, -1.0), 0.0);
        assert_eq!(bivariate_cdf(f64::NEG_INFINITY, 1.0, 0.3), 0.0);
        assert_eq!(bivariate_cdf(f64::INFINITY, 1.0, 0.3), cdf(1.0));
        assert!(bivariate_cdf(0.0, 0.0, 1.5).is_nan());
        assert!(bivariate_cdf(f64::NAN, 0.0, 0.5).is_nan());
    }

    #[test]
    fn sheppard_formula_at_the_origin() {
        // Φ₂(0, 0; ρ) = 1/4 + asin(ρ)/(2π).
        for &rho in &[-0.999_999, -0.9, -0.3, 0.1, 0.7, 0.999, 0.999_999] {
            let want = 0.25 + f64::asin(rho) / (2.0 * std::f64::consts::PI);
            let got = bivariate_cdf(0.0, 0.0, rho);
            assert!(
                (got / want - 1.0).abs() < 1e-12,
                "ρ = {rho}: {got} vs {want}"
            );
        }
    }
}
