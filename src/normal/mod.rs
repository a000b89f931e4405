//! The standard normal distribution: density, distribution function, its
//! logarithm, the survival function and the quantile function; the bivariate
//! normal distribution function ([`bivariate_cdf`]); and orthant probabilities
//! of correlated normal vectors ([`orthant_probability`],
//! [`exceedance_probability`]).
//!
//! # Formulas
//!
//! With φ the density and Φ the distribution function of N(0, 1):
//!
//! * φ(x) = exp(−x²/2) / √(2π);
//! * Φ(x) = ½ erfc(−x/√2), and 1 − Φ(x) = Φ(−x);
//! * in the lower tail, Φ(−y) = exp(−y²/2) · R(y) for y > 0, where R(y) is a
//!   smooth, slowly varying factor (R(y) ≈ 1/(y√(2π)) for large y), so that
//!   ln Φ(−y) = −y²/2 + ln R(y). This form never underflows, however far out
//!   in the tail the argument lies.
//!
//! # Methods
//!
//! Φ and R are evaluated with the rational Chebyshev approximations of
//! W. J. Cody, "Rational Chebyshev approximations for the error function",
//! *Mathematics of Computation* 23 (1969), 631–637, in the form used by his
//! SPECFUN routine `ANORM` (Cody, ACM TOMS Algorithm 715, 1993): one rational
//! function for |x| ≤ 0.674, one for 0.674 < |x| ≤ √32, and one in 1/x² beyond.
//! The factor exp(−y²/2) is computed as exp(−a²/2) · exp(−(y − a)(y + a)/2),
//! where a is y truncated to a multiple of 1/16, so that a² is exact: a
//! direct exp(−y·y/2) would lose about y² units in the last place.
//!
//! The quantile Φ⁻¹ starts from M. J. Wichura's algorithm AS 241 ("The
//! percentage points of the normal distribution", *Applied Statistics* 37
//! (1988), 477–484) and takes one Halley step against the accurate Φ: on
//! Φ(x) − ½ near the center and on ln Φ(x) − ln p in the tails, so that it
//! stays accurate for p down to the smallest doubles.
//!
//! # Accuracy
//!
//! Checked against 50-digit reference values (`tests/normal.rs`, data made by
//! `scripts/normal_reference.py`), the relative error is at most
//!
//! * 1e-14 for [`cdf`] and [`pdf`] on [−37, 8] (and for [`sf`] on [−8, 37]);
//! * 1e-13 for [`ln_cdf`] on [−1e6, 8] (and for [`ln_sf`] on [−8, 1e6]);
//! * 1e-13 for [`quantile`] on [1e-300, 1 − 1e-16].
//!
//! Outside these ranges the functions stay sensible: Φ(x) decreases through
//! the subnormal numbers to exactly 0 near x = −38.5, and rounds to exactly 1
//! above x ≈ 8.3; ln Φ(x) is finite for all finite x down to about −1.9e154
//! (where −x²/2 itself overflows). A NaN argument gives NaN.

// The coefficients below are quoted with all the digits that Cody and
// Wichura published, so that they can be checked against the papers.
#![allow(clippy::excessive_precision)]

use crate::{Error, Result};

mod bivariate;
pub mod orthant;
mod two_class;

pub use bivariate::{bivariate_cdf, bivariate_cdf_complement};
pub use orthant::{Estimate, OrthantOptions, exceedance_probability, orthant_probability};
pub(crate) use two_class::{ln_cdf_mixture, ln_two_class_error, log_odds, two_class_error};

/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_677_939_946_059_934;
/// √32, the boundary between Cody's second and third approximations.
const SQRT_32: f64 = 5.656_854_249_492_380_195_206_754_896_838;
/// |x| up to which Φ(x) − ½ is computed directly (close to Φ⁻¹(3/4)).
const CENTRAL: f64 = 0.674_489_75;
/// Beyond this |x|, Φ(−|x|) and φ(x) are exactly 0 in double precision.
const UNDERFLOW: f64 = 40.0;

// Cody (1969), first approximation: Φ(x) − ½ = x · A(x²) / B(x²).
const A: [f64; 5] = [
    2.235_252_035_460_683_928_7,
    161.028_231_068_555_878_81,
    1_067.689_485_460_370_958_2,
    18_154.981_253_343_561_249,
    0.065_682_337_918_207_449_113,
];
const B: [f64; 4] = [
    47.202_581_904_688_241_87,
    976.098_551_737_776_693_22,
    10_260.932_208_618_978_205,
    45_507.789_335_026_729_956,
];

// Cody (1969), second approximation: R(y) = C(y) / D(y).
const C: [f64; 9] = [
    0.398_941_512_088_134_667_64,
    8.883_149_794_388_375_941_2,
    93.506_656_132_177_855_979,
    597.270_276_394_800_262_26,
    2_494.537_585_290_372_671_1,
    6_848.190_450_536_282_332_6,
    11_602.651_437_647_350_124,
    9_842.714_838_383_978_021_8,
    1.076_557_677_372_019_231_7e-8,
];
const D: [f64; 8] = [
    22.266_688_044_328_115_691,
    235.387_901_782_624_998_61,
    1_519.377_599_407_554_805,
    6_485.558_298_266_760_755,
    18_615.571_640_885_098_091,
    34_900.952_721_145_977_266,
    38_912.003_286_093_271_411,
    19_685.429_676_859_990_727,
];

// Cody (1969), third approximation in z = 1/y²:
// R(y) = (1/√(2π) − z · P(z) / Q(z)) / y.
const P: [f64; 6] = [
    0.215_898_534_057_956_99,
    0.127_401_161_160_247_363_9,
    0.022_235_277_870_649_807,
    0.001_421_619_193_227_893_466,
    2.911_287_495_116_879_2e-5,
    0.023_073_441_764_940_173_03,
];
const Q: [f64; 5] = [
    1.284_260_096_144_911_21,
    0.468_238_212_480_865_118,
    0.065_988_137_868_928_551_5,
    0.003_782_396_332_027_582_44,
    7.297_515_550_839_662_05e-5,
];

// Wichura (1988), AS 241 (PPND16): numerator and denominator coefficients,
// constant term first, for the central region and the two tail regions.
const AS241_CENTRAL_NUM: [f64; 8] = [
    3.387_132_872_796_366_608_0,
    1.331_416_678_917_843_774_5e2,
    1.971_590_950_306_551_442_7e3,
    1.373_169_376_550_946_112_5e4,
    4.592_195_393_154_987_145_7e4,
    6.726_577_092_700_870_085_3e4,
    3.343_057_558_358_812_810_5e4,
    2.509_080_928_730_122_672_7e3,
];
const AS241_CENTRAL_DEN: [f64; 8] = [
    1.0,
    4.231_333_070_160_091_125_2e1,
    6.871_870_074_920_579_083_0e2,
    5.394_196_021_424_751_107_7e3,
    2.121_379_430_158_659_586_7e4,
    3.930_789_580_009_271_061_0e4,
    2.872_908_573_572_194_267_4e4,
    5.226_495_278_852_854_561_0e3,
];
const AS241_NEAR_NUM: [f64; 8] = [
    1.423_437_110_749_683_577_34,
    4.630_337_846_156_545_295_90,
    5.769_497_221_460_691_405_50,
    3.647_848_324_763_204_605_04,
    1.270_458_252_452_368_382_58,
    2.417_807_251_774_506_117_70e-1,
    2.272_384_498_926_918_458_33e-2,
    7.745_450_142_783_414_076_40e-4,
];
const AS241_NEAR_DEN: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87,
    1.676_384_830_183_803_849_40,
    6.897_673_349_851_000_045_50e-1,
    1.481_039_764_274_800_745_90e-1,
    1.519_866_656_361_645_719_66e-2,
    5.475_938_084_995_344_946_00e-4,
    1.050_750_071_644_416_843_24e-9,
];
const AS241_FAR_NUM: [f64; 8] = [
    6.657_904_643_501_103_777_20,
    5.463_784_911_164_114_369_90,
    1.784_826_539_917_291_335_80,
    2.965_605_718_285_048_912_30e-1,
    2.653_218_952_657_612_309_30e-2,
    1.242_660_947_388_078_438_60e-3,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
const AS241_FAR_DEN: [f64; 8] = [
    1.0,
    5.998_322_065_558_879_376_90e-1,
    1.369_298_809_227_358_053_10e-1,
    1.487_536_129_085_061_485_25e-2,
    7.868_691_311_456_132_591_00e-4,
    1.846_318_317_510_054_681_80e-5,
    1.421_511_758_316_445_888_70e-7,
    2.044_263_103_389_939_785_64e-15,
];

/// The standard normal density φ(x) = exp(−x²/2) / √(2π).
///
/// Relative error at most 1e-14 on [−37, 37]; exactly 0 beyond |x| ≈ 38.6,
/// where the density underflows.
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// // φ(0) = 1/√(2π).
/// assert!((normal::pdf(0.0) - 0.398_942_280_401_432_7).abs() < 1e-16);
/// assert_eq!(normal::pdf(1.5), normal::pdf(-1.5));
/// ```
pub fn pdf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let y = x.abs();
    if y > UNDERFLOW {
        return 0.0;
    }
    let (hi, lo) = half_square_split(y);
    (hi.exp() * lo.exp()) * FRAC_1_SQRT_2PI
}

/// The standard normal distribution function Φ(x) = P(Z ≤ x) = ½ erfc(−x/√2).
///
/// Relative error at most 1e-14 on [−37, 8]. Below that the result goes down
/// through the subnormal numbers to exactly 0 near x = −38.5; above x ≈ 8.3
/// it rounds to exactly 1. Use [`ln_cdf`] when Φ(x) may underflow, and
/// [`sf`] for the upper tail 1 − Φ(x).
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// assert!((normal::cdf(0.0) - 0.5).abs() < 1e-16);
/// // Φ(1.96) ≈ 0.975.
/// assert!((normal::cdf(1.96) - 0.975_002_104_851_779_6).abs() < 1e-15);
/// // The lower tail keeps its relative accuracy.
/// let far = normal::cdf(-30.0);
/// assert!((far / 4.906_713_927_148_187e-198 - 1.0).abs() < 1e-14);
/// ```
pub fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let y = x.abs();
    if y <= CENTRAL {
        return 0.5 + central(x);
    }
    let tail = lower_tail(y);
    if x < 0.0 { tail } else { 1.0 - tail }
}

/// The standard normal survival function 1 − Φ(x) = Φ(−x) = P(Z > x).
///
/// Computed as Φ(−x) without cancellation, so the relative error is at most
/// 1e-14 on [−8, 37].
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// assert!((normal::sf(0.0) - 0.5).abs() < 1e-16);
/// // P(Z > 10) ≈ 7.62e-24, far below what 1 − Φ(10) could resolve.
/// assert!((normal::sf(10.0) / 7.619_853_024_160_526e-24 - 1.0).abs() < 1e-14);
/// ```
pub fn sf(x: f64) -> f64 {
    cdf(-x)
}

/// The logarithm of the standard normal distribution function, ln Φ(x).
///
/// In the lower tail (x < −0.674) it is computed as −x²/2 + ln R(−x) with the
/// exact split of x² described in the [module documentation](self), so it
/// never underflows: the relative error is at most 1e-13 on [−1e6, 8], and
/// the result is finite down to about x = −1.9e154. For x > 0.674 it is
/// ln(1 − Φ(−x)) computed with `ln_1p`, accurate even when Φ(x) rounds to 1.
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// assert!((normal::ln_cdf(0.0) + std::f64::consts::LN_2).abs() < 1e-16);
/// // Φ(−100) ≈ 1e-2174 underflows, but its logarithm does not.
/// let l = normal::ln_cdf(-100.0);
/// assert!((l / -5_005.524_208_694_205 - 1.0).abs() < 1e-13);
/// ```
pub fn ln_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -CENTRAL {
        ln_lower_tail(-x)
    } else if x <= CENTRAL {
        (0.5 + central(x)).ln()
    } else {
        (-lower_tail(x)).ln_1p()
    }
}

/// The logarithm of the survival function, ln(1 − Φ(x)) = ln Φ(−x).
///
/// Relative error at most 1e-13 on [−8, 1e6]; see [`ln_cdf`].
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// assert!((normal::ln_sf(0.0) + std::f64::consts::LN_2).abs() < 1e-16);
/// assert_eq!(normal::ln_sf(50.0), normal::ln_cdf(-50.0));
/// ```
pub fn ln_sf(x: f64) -> f64 {
    ln_cdf(-x)
}

/// The standard normal quantile function Φ⁻¹(p): the x with Φ(x) = p.
///
/// Relative error at most 1e-13 for p in [1e-300, 1 − 1e-16], and accurate
/// down to the smallest subnormal p. For p > ½ it returns −Φ⁻¹(1 − p), where
/// 1 − p is exact, so Φ⁻¹(p) = −Φ⁻¹(1 − p) holds exactly there.
///
/// # Errors
///
/// [`Error::InvalidProbability`] (with `name` `"p"`) if `p` is NaN or not in
/// the open interval (0, 1); in particular p = 0 and p = 1, whose quantiles
/// are infinite, are rejected.
///
/// # Example
///
/// ```
/// use manifold_robustness::normal;
///
/// let z = normal::quantile(0.975)?;
/// assert!((z - 1.959_963_984_540_054).abs() < 1e-14);
/// assert!((normal::quantile(1e-300)? / -37.047_096_299_361_2 - 1.0).abs() < 1e-13);
/// assert!(normal::quantile(1.0).is_err());
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
pub fn quantile(p: f64) -> Result<f64> {
    if p.is_nan() || p <= 0.0 || p >= 1.0 {
        return Err(Error::InvalidProbability {
            name: "p",
            value: p,
        });
    }
    if p > 0.5 {
        // 1 − p is exact for p in [½, 1] (Sterbenz).
        Ok(-lower_quantile(1.0 - p))
    } else {
        Ok(lower_quantile(p))
    }
}

/// Φ⁻¹(p) for p in (0, ½].
fn lower_quantile(p: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    let x = as241_lower(p);
    if p > 0.3 {
        // Near the center, x is small: compare Φ(x) − ½ with p − ½ (exact for
        // p in [¼, ½]) so that the residual keeps its relative accuracy.
        // Halley's method on g(x) = Φ(x) − p, g' = φ, g'' = −xφ.
        let g = central(x) - (p - 0.5);
        let u = g / pdf(x);
        x - u / (1.0 + 0.5 * x * u)
    } else {
        // In the tail, work with h(x) = ln Φ(x) − ln p, h' = m = φ/Φ,
        // h'' = −m(x + m); this stays accurate however small p is.
        let h = ln_cdf(x) - p.ln();
        let m = inverse_mills(x);
        let u = h / m;
        x - u / (1.0 + 0.5 * u * (x + m))
    }
}

/// Φ⁻¹(p) for p in (0, 1) by AS 241 alone (about 16 correct digits, no
/// refinement step): for integrands evaluated millions of times, where the
/// last bits do not matter.
pub(super) fn quantile_unrefined(p: f64) -> f64 {
    if p > 0.5 {
        -as241_lower(1.0 - p)
    } else {
        as241_lower(p)
    }
}

/// `(Φ(x), Φ(−x))` from one evaluation, each with the relative accuracy of
/// [`cdf`].
pub(super) fn cdf_pair(x: f64) -> (f64, f64) {
    if x.abs() <= CENTRAL {
        let c = central(x);
        return (0.5 + c, 0.5 - c);
    }
    let tail = lower_tail(x.abs());
    if x < 0.0 {
        (tail, 1.0 - tail)
    } else {
        (1.0 - tail, tail)
    }
}

/// Wichura's AS 241 approximation to Φ⁻¹(p) for p in (0, ½]; about 16
/// correct digits, refined by the caller.
fn as241_lower(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * horner(&AS241_CENTRAL_NUM, r) / horner(&AS241_CENTRAL_DEN, r);
    }
    let r = (-p.ln()).sqrt();
    let value = if r <= 5.0 {
        let r = r - 1.6;
        horner(&AS241_NEAR_NUM, r) / horner(&AS241_NEAR_DEN, r)
    } else {
        let r = r - 5.0;
        horner(&AS241_FAR_NUM, r) / horner(&AS241_FAR_DEN, r)
    };
    -value
}

/// φ(x)/Φ(x) for x ≤ 0 (the inverse Mills ratio of −x).
pub(super) fn inverse_mills(x: f64) -> f64 {
    let y = -x;
    if y <= CENTRAL {
        pdf(x) / (0.5 + central(x))
    } else {
        // Φ(−y) = exp(−y²/2) R(y) and φ(y) = exp(−y²/2)/√(2π).
        FRAC_1_SQRT_2PI / tail_factor(y)
    }
}

/// Polynomial with coefficients `c` (constant term first) at `x`.
fn horner(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
}

/// Φ(x) − ½ for |x| ≤ [`CENTRAL`] (Cody's first approximation).
fn central(x: f64) -> f64 {
    let z = x * x;
    let mut num = A[4] * z;
    let mut den = z;
    for i in 0..3 {
        num = (num + A[i]) * z;
        den = (den + B[i]) * z;
    }
    x * (num + A[3]) / (den + B[3])
}

/// R(y) = Φ(−y) · exp(y²/2) for y > [`CENTRAL`] (Cody's second and third
/// approximations).
fn tail_factor(y: f64) -> f64 {
    if y <= SQRT_32 {
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        (num + C[7]) / (den + D[7])
    } else {
        let z = 1.0 / (y * y);
        let mut num = P[5] * z;
        let mut den = z;
        for i in 0..4 {
            num = (num + P[i]) * z;
            den = (den + Q[i]) * z;
        }
        let t = z * (num + P[4]) / (den + Q[4]);
        (FRAC_1_SQRT_2PI - t) / y
    }
}

/// Splits −y²/2 into `hi + lo` where `hi = −a²/2` is exact (a is y truncated
/// to a multiple of 1/16) and `lo = −(y − a)(y + a)/2` is small.
///
/// Requires 0 ≤ y ≤ 1e300 so that 16·y does not overflow.
pub(super) fn half_square_split(y: f64) -> (f64, f64) {
    let a = (y * 16.0).trunc() / 16.0;
    let del = (y - a) * (y + a);
    // (a/2)·a rather than a·a/2, so that a² does not overflow before halving.
    (-(0.5 * a) * a, -0.5 * del)
}

/// Φ(−y) for y > [`CENTRAL`].
fn lower_tail(y: f64) -> f64 {
    if y > UNDERFLOW {
        return 0.0;
    }
    let (hi, lo) = half_square_split(y);
    hi.exp() * lo.exp() * tail_factor(y)
}

/// ln Φ(−y) for y > [`CENTRAL`].
fn ln_lower_tail(y: f64) -> f64 {
    if y > 1e300 {
        // −y²/2 overflows long before this.
        return f64::NEG_INFINITY;
    }
    let (hi, lo) = half_square_split(y);
    hi + (lo + tail_factor(y).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetry() {
        let mut x = -8.0;
        while x <= 8.0 {
            let s = cdf(x) + cdf(-x);
            assert!((s - 1.0).abs() <= 2.0 * f64::EPSILON, "x = {x}: {s}");
            assert_eq!(sf(x), cdf(-x));
            assert_eq!(ln_sf(x), ln_cdf(-x));
            assert_eq!(pdf(x), pdf(-x));
            x += 0.0625 + 1e-3;
        }
        assert_eq!(cdf(0.0), 0.5);
        assert_eq!(cdf(-0.0), 0.5);
    }

    #[test]
    fn quantile_round_trip() {
        // x → Φ(x) → Φ⁻¹ returns x up to the conditioning of Φ at x.
        let mut x = -37.0;
        while x <= 8.0 {
            let p = cdf(x);
            let back = quantile(p).unwrap();
            // Rounding p to a double moves the quantile by up to
            // ε·Φ(x)/φ(x); allow a few of those plus a few ulps of x.
            let cond = if x < 0.0 {
                p / pdf(x)
            } else {
                (1.0 - sf(x)) / pdf(x)
            };
            let tol = 4.0 * f64::EPSILON * (cond + x.abs());
            assert!((back - x).abs() <= tol, "x = {x}: got {back}");
            x += 0.173;
        }
        // Deep lower tail through the logarithm: p = exp(ln Φ(x)) stays a
        // normal double down to x ≈ −37.5.
        for &x in &[-37.5, -30.0, -20.0, -10.0] {
            let back = quantile(cdf(x)).unwrap();
            assert!((back / x - 1.0).abs() < 1e-13, "x = {x}: got {back}");
        }
    }

    #[test]
    fn quantile_rejects_non_probabilities() {
        for &p in &[0.0, -0.0, 1.0, -0.5, 2.0, f64::INFINITY, f64::NEG_INFINITY] {
            match quantile(p) {
                Err(Error::InvalidProbability { name, value }) => {
                    assert_eq!(name, "p");
                    assert_eq!(value.to_bits(), p.to_bits());
                }
                other => panic!("p = {p}: expected an error, got {other:?}"),
            }
        }
        match quantile(f64::NAN) {
            Err(Error::InvalidProbability { name, value }) => {
                assert_eq!(name, "p");
                assert!(value.is_nan());
            }
            other => panic!("p = NaN: expected an error, got {other:?}"),
        }
        let msg = quantile(2.0).unwrap_err().to_string();
        assert!(msg.contains("p must be a probability"), "{msg}");
    }

    #[test]
    fn quantile_extremes() {
        assert_eq!(quantile(0.5).unwrap(), 0.0);
        // The smallest positive double still has a finite quantile.
        let tiny = f64::from_bits(1);
        let z = quantile(tiny).unwrap();
        assert!(z < -38.0 && z > -39.0, "{z}");
        let z = quantile(1.0 - f64::EPSILON / 2.0).unwrap();
        assert!(z > 8.0 && z < 8.3, "{z}");
        // For p > ½ the quantile is −Φ⁻¹(1 − p) with 1 − p exact.
        for &p in &[0.7, 0.9, 0.999, 1.0 - 1e-12] {
            assert_eq!(quantile(p).unwrap(), -quantile(1.0 - p).unwrap());
        }
    }

    #[test]
    fn beyond_the_accurate_range() {
        assert_eq!(cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(cdf(f64::INFINITY), 1.0);
        assert_eq!(cdf(-38.6), 0.0);
        assert_eq!(cdf(-40.5), 0.0);
        assert!(cdf(-38.0) > 0.0 && cdf(-38.0) < f64::MIN_POSITIVE);
        assert_eq!(cdf(8.3), 1.0);
        assert_eq!(cdf(1e300), 1.0);
        assert_eq!(sf(1e300), 0.0);
        assert_eq!(pdf(f64::INFINITY), 0.0);
        assert_eq!(pdf(-39.0), 0.0);
        assert_eq!(ln_cdf(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(ln_cdf(-1e200), f64::NEG_INFINITY);
        assert!(ln_cdf(-1e150).is_finite());
        assert!(ln_cdf(-1.8e154).is_finite());
        assert_eq!(ln_cdf(f64::INFINITY), 0.0);
        assert!(cdf(f64::NAN).is_nan());
        assert!(pdf(f64::NAN).is_nan());
        assert!(ln_cdf(f64::NAN).is_nan());
        // Monotone through the branch points.
        for &b in &[CENTRAL, SQRT_32] {
            for s in [-1.0, 1.0] {
                let x = s * b;
                let below = cdf(x - 1e-12);
                let above = cdf(x + 1e-12);
                assert!(below <= cdf(x) && cdf(x) <= above, "x = {x}");
                assert!(ln_cdf(x - 1e-12) <= ln_cdf(x + 1e-12), "x = {x}");
            }
        }
    }
}
