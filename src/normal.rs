//! Standard normal functions. TEMPORARY STUB (replaced by the real module).
#![allow(missing_docs)]
pub fn cdf(x: f64) -> f64 {
    0.5 * erfc_approx(-x / std::f64::consts::SQRT_2)
}
pub fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}
pub fn ln_cdf(x: f64) -> f64 {
    cdf(x).ln()
}
pub fn quantile(p: f64) -> crate::Result<f64> {
    // bisection stub
    let (mut lo, mut hi) = (-40.0, 40.0);
    for _ in 0..200 {
        let m = 0.5 * (lo + hi);
        if cdf(m) < p {
            lo = m
        } else {
            hi = m
        }
    }
    Ok(0.5 * (lo + hi))
}
fn erfc_approx(x: f64) -> f64 {
    // Numerical Recipes erfc (1e-7), stub only.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398
                                    + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}
