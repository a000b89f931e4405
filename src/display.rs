//! Number formatting shared by the `Display` implementations of the result
//! types: the formatter's precision is the number of significant digits of
//! every number (default 4) and its width the minimum width of each number.

use std::fmt;

/// Significant digits when the formatter gives no precision.
const DEFAULT_DIGITS: usize = 4;

/// `x` with the formatter's significant digits, in fixed notation for
/// magnitudes in `[1e-3, 1e5)` and in scientific notation otherwise,
/// right-aligned in the formatter's width.
pub(crate) fn number(f: &fmt::Formatter<'_>, x: f64) -> String {
    let digits = f.precision().unwrap_or(DEFAULT_DIGITS).max(1);
    let text = if x == 0.0 {
        "0".to_string()
    } else if !x.is_finite() {
        if x.is_nan() {
            "NaN".to_string()
        } else if x > 0.0 {
            "∞".to_string()
        } else {
            "−∞".to_string()
        }
    } else {
        // The exponent after rounding to `digits` (0.99996 rounds to 1.000e0).
        let scientific = format!("{x:.*e}", digits - 1);
        let exponent: i32 = scientific
            .rsplit('e')
            .next()
            .and_then(|e| e.parse().ok())
            .unwrap_or(0);
        if (-3..5).contains(&exponent) {
            let decimals = (digits as i32 - 1 - exponent).max(0) as usize;
            format!("{x:.decimals$}")
        } else {
            scientific
        }
    };
    format!("{text:>width$}", width = f.width().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::number;

    struct Shown(f64);

    impl fmt::Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&number(f, self.0))
        }
    }

    #[test]
    fn significant_digits_width_and_notation() {
        assert_eq!(format!("{}", Shown(0.012345678)), "0.01235");
        assert_eq!(format!("{:.2}", Shown(0.012345678)), "0.012");
        assert_eq!(format!("{}", Shown(2.31e-5)), "2.310e-5");
        assert_eq!(format!("{:.2}", Shown(123456.0)), "1.2e5");
        assert_eq!(format!("{:8.3}", Shown(1.0)), "    1.00");
        assert_eq!(format!("{}", Shown(0.0)), "0");
        assert_eq!(format!("{}", Shown(f64::INFINITY)), "∞");
        assert_eq!(format!("{}", Shown(-42.0)), "-42.00");
        assert_eq!(format!("{:.2}", Shown(0.999_999)), "1.0");
        assert_eq!(format!("{:.2}", Shown(99_999.0)), "1.0e5");
    }
}
