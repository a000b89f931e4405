//! Quantiles of Student's t distribution with an integer number of degrees
//! of freedom, for the error bound of a randomized quasi-Monte Carlo rule.

use crate::Result;
use crate::roots::{Brent, Evaluation};

/// `P(|T| ≤ t)` for `T` with `nu ≥ 1` degrees of freedom, by the finite sums
/// of Abramowitz & Stegun 26.7.3–26.7.4 in `θ = atan(t/√ν)`: for odd ν,
/// `(2/π)(θ + sin θ (cos θ + (2/3) cos³θ + … + (2·4⋯(ν−3))/(1·3⋯(ν−2)) cos^{ν−2}θ))`;
/// for even ν, `sin θ (1 + (1/2) cos²θ + … + (1·3⋯(ν−3))/(2·4⋯(ν−2)) cos^{ν−2}θ)`.
/// Every term is positive, so the sum is accurate to a few ulps.
pub(super) fn two_sided_probability(t: f64, nu: u32) -> f64 {
    let theta = (t / f64::from(nu).sqrt()).atan();
    let (sin, cos) = theta.sin_cos();
    let cos2 = cos * cos;
    if nu % 2 == 1 {
        // Terms cos^{2i+1}θ · (2·4⋯2i)/(1·3⋯(2i+1)) for 2i + 1 ≤ ν − 2.
        let mut term = cos;
        let mut sum = 0.0;
        let mut i = 0u32;
        while 2 * i + 1 < nu {
            sum += term;
            i += 1;
            term *= cos2 * f64::from(2 * i) / f64::from(2 * i + 1);
        }
        std::f64::consts::FRAC_2_PI * (theta + sin * sum)
    } else {
        // Terms cos^{2i}θ · (1·3⋯(2i−1))/(2·4⋯2i) for 2i ≤ ν − 2.
        let mut term = 1.0;
        let mut sum = 0.0;
        let mut i = 0u32;
        while 2 * i < nu {
            sum += term;
            i += 1;
            term *= cos2 * f64::from(2 * i - 1) / f64::from(2 * i);
        }
        sin * sum
    }
}

/// The `t > 0` with `P(|T| ≤ t) = confidence` for `nu` degrees of freedom:
/// the half-width factor of a two-sided Student interval, found by Brent's
/// method on the exact distribution function to about 1e-13 relative.
pub(super) fn two_sided_quantile(confidence: f64, nu: u32) -> Result<f64> {
    let f = |t: f64| two_sided_probability(t, nu) - confidence;
    let mut hi = 4.0;
    while f(hi) <= 0.0 && hi < 1e300 {
        hi *= 4.0;
    }
    let brent = Brent {
        absolute: 0.0,
        relative: 1e-14,
        max_iterations: 200,
        name: "Student t quantile",
    };
    let root = brent.solve(
        |t| {
            Ok(Evaluation {
                value: f(t),
                accept: false,
            })
        },
        0.0,
        hi,
        -confidence,
        f(hi),
    )?;
    Ok(root.x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_published_values() {
        // scipy.stats.t.ppf((1 + confidence)/2, ν).
        let cases = [
            (0.95, 10, 2.228_138_851_986_274),
            (0.99, 15, 2.946_712_883_475_238),
            (0.99, 1, 63.656_741_162_871_53),
            (0.90, 2, 2.919_985_580_353_724),
            (0.999, 7, 5.407_882_520_861_828),
        ];
        for (confidence, nu, want) in cases {
            let got = two_sided_quantile(confidence, nu).unwrap();
            assert!(
                (got / want - 1.0).abs() < 1e-12,
                "ν = {nu}, {confidence}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn one_degree_of_freedom_is_cauchy() {
        for t in [0.1, 1.0, 7.5, 300.0] {
            let cauchy = std::f64::consts::FRAC_2_PI * f64::atan(t);
            assert!((two_sided_probability(t, 1) - cauchy).abs() < 1e-15);
        }
    }
}
