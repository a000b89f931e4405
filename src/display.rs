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
    let text = significant(x, f.precision().unwrap_or(DEFAULT_DIGITS));
    format!("{text:>width$}", width = f.width().unwrap_or(0))
}

/// A parameter inside a name (an exponent, a relative budget): as Rust
/// writes it (`1.5`) unless the formatter gives a precision, then with that
/// many significant digits; never padded.
pub(crate) fn parameter(f: &fmt::Formatter<'_>, x: f64) -> String {
    match f.precision() {
        Some(digits) => significant(x, digits),
        None => format!("{x}"),
    }
}

/// Writes `text` padded to the formatter's width with its fill and
/// alignment (left by default, as for strings); unlike `Formatter::pad`,
/// the precision does not truncate it.
pub(crate) fn padded(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let width = f.width().unwrap_or(0);
    let len = text.chars().count();
    if len >= width {
        return f.write_str(text);
    }
    let gap = width - len;
    let (before, after) = match f.align() {
        Some(fmt::Alignment::Right) => (gap, 0),
        Some(fmt::Alignment::Center) => (gap / 2, gap - gap / 2),
        _ => (0, gap),
    };
    let fill = f.fill().to_string();
    write!(f, "{}{text}{}", fill.repeat(before), fill.repeat(after))
}

/// `x` with `digits` significant digits (at least 1), in fixed notation
/// for magnitudes in `[1e-3, 1e5)` and in scientific notation otherwise.
fn significant(x: f64, digits: usize) -> String {
    let digits = digits.max(1);
    if x == 0.0 {
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
    }
}

/// The summary of a batch attack: the points flipped, misclassified and
/// out of reach (`counts`, in that order), then the median and mean of the
/// flipping budgets (the finite positive ones, if any).
pub(crate) fn batch_summary(
    f: &mut fmt::Formatter<'_>,
    counts: [usize; 3],
    budgets: &[f64],
) -> fmt::Result {
    let [flipped, misclassified, unreachable] = counts;
    write!(
        f,
        "{} points: {flipped} flipped, {misclassified} misclassified, {unreachable} unreachable",
        budgets.len()
    )?;
    let mut flips: Vec<f64> = budgets
        .iter()
        .copied()
        .filter(|b| *b > 0.0 && b.is_finite())
        .collect();
    if flips.is_empty() {
        return Ok(());
    }
    flips.sort_by(f64::total_cmp);
    let mean = flips.iter().sum::<f64>() / flips.len() as f64;
    write!(
        f,
        "; flipping budget median {}, mean {}",
        number(f, flips[flips.len() / 2]),
        number(f, mean)
    )
}

/// One line: the class flipped to (and any tied classes), the budget and
/// the perturbation's length; the formatter's precision and width apply to
/// each number.
impl fmt::Display for crate::multiclass::Perturbation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::multiclass::Perturbation;
        match self {
            Perturbation::Misclassified => write!(f, "misclassified already (budget 0)"),
            Perturbation::Unreachable => {
                write!(
                    f,
                    "unreachable: no budget of this threat reaches another class"
                )
            }
            Perturbation::Flip {
                delta,
                budget,
                to,
                latent,
                tied,
            } => {
                write!(
                    f,
                    "flip to class {to} at budget {}, ‖δ‖ = {}",
                    number(f, *budget),
                    number(f, delta.norm())
                )?;
                if let Some(u) = latent {
                    write!(f, ", latent step ‖u‖ = {}", number(f, u.norm()))?;
                }
                if !tied.is_empty() {
                    let classes: Vec<String> = tied.iter().map(ToString::to_string).collect();
                    write!(f, " (tied with class {})", classes.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// As the two-class batch attack: the points flipped, misclassified and out
/// of reach, and the median and mean flipping budget; the formatter's
/// precision and width apply to each number.
impl fmt::Display for crate::multiclass::BatchAttack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        batch_summary(
            f,
            [self.flipped(), self.misclassified(), self.unreachable()],
            self.budgets().as_slice(),
        )
    }
}

/// One line: the facet `from → to`, then its attack energy summary.
impl fmt::Display for crate::multiclass::FacetEnergySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "class {} → {}: ", self.from, self.to)?;
        fmt::Display::fmt(&self.summary, f)
    }
}

/// The aggregate summary on the first line, then one indented line per
/// facet that flips; the formatter's precision and width apply to each
/// number.
impl fmt::Display for crate::multiclass::MulticlassEnergySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all facets, ")?;
        fmt::Display::fmt(&self.aggregate, f)?;
        for facet in &self.per_facet {
            write!(f, "\n  ")?;
            fmt::Display::fmt(facet, f)?;
        }
        Ok(())
    }
}

/// One line: the multiplier and the range of the relative growth
/// `after/before`, with the direction that grows most (in descending
/// variance); the formatter's precision and width apply to each number.
impl fmt::Display for crate::training::ExtendedCovariance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let growth = self.relative_growth();
        let basis = match self.basis() {
            crate::training::GrowthBasis::Eigenbasis => "the covariance's eigenbasis",
            _ => "the generalized eigenbasis",
        };
        write!(
            f,
            "covariance extended in {basis} with λ = {}: variances grow by a factor from {} to {}",
            number(f, self.lambda()),
            number(f, growth.min()),
            number(f, growth.max())
        )?;
        if let Some(top) = (0..growth.len()).max_by(|&a, &b| growth[a].total_cmp(&growth[b])) {
            write!(f, ", most along direction {}", top + 1)?;
        }
        Ok(())
    }
}

/// One line: the threat, the flipped points, the mean budget, the mean
/// Rayleigh variance against the data's mean variance and the top-`k`
/// shares; the formatter's precision and width apply to each number.
impl fmt::Display for crate::disentangle::AttackEnergySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} of {} points flipped",
            self.threat, self.flipped, self.points
        )?;
        if let (Some(budget), Some(variance)) = (self.mean_budget, self.variance) {
            write!(
                f,
                ", mean budget {}, variance along the attack R = {} (data {})",
                number(f, budget),
                number(f, variance),
                number(f, self.mean_data_variance)
            )?;
        }
        for (k, share) in self.top_shares.iter().flatten() {
            write!(f, ", S_{k} = {}", number(f, *share))?;
        }
        Ok(())
    }
}

/// One line: converged or not, by which criterion, after how many
/// iterations, with the loss and the stationarity residual; the formatter's
/// precision and width apply to each number.
impl fmt::Display for crate::empirical::TrainingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::empirical::Stationarity;
        let criterion = match self.criterion {
            Stationarity::Gradient => "gradient",
            Stationarity::MinimalSubgradient => "minimal subgradient",
            _ => "loss stalled",
        };
        write!(
            f,
            "{} ({criterion}) after {} iterations and {} data passes: loss {}, stationarity residual {}",
            if self.converged {
                "converged"
            } else {
                "not converged"
            },
            self.iterations,
            self.data_passes,
            number(f, self.loss),
            number(f, self.gradient_norm)
        )
    }
}

/// The value, and `± bound` unless it is exact up to rounding; the
/// formatter's precision and width apply to each number.
impl fmt::Display for crate::normal::Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            f.write_str(&number(f, self.value()))
        } else {
            write!(
                f,
                "{} ± {}",
                number(f, self.value()),
                number(f, self.error_bound())
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::{number, padded, parameter};

    struct Shown(f64);

    impl fmt::Display for Shown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&number(f, self.0))
        }
    }

    struct Named(f64);

    impl fmt::Display for Named {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let text = format!("p = {}", parameter(f, self.0));
            padded(f, &text)
        }
    }

    #[test]
    fn names_pad_as_a_whole_and_keep_their_parameters() {
        assert_eq!(format!("{}", Named(1.5)), "p = 1.5");
        assert_eq!(format!("[{:9}]", Named(1.5)), "[p = 1.5  ]");
        assert_eq!(format!("[{:>9}]", Named(1.5)), "[  p = 1.5]");
        assert_eq!(format!("[{:^9}]", Named(1.5)), "[ p = 1.5 ]");
        assert_eq!(format!("[{:*>9}]", Named(1.5)), "[**p = 1.5]");
        // The precision sets the parameter's digits and truncates nothing.
        assert_eq!(format!("{:.3}", Named(1.0 / 3.0)), "p = 0.333");
        assert_eq!(format!("[{:3.2}]", Named(1.5)), "[p = 1.5]");
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
