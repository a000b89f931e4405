//! The crate's error type: one variant per class of bad input ([THEORY §11](crate::theory#11-numerical-contract)).

/// Everything that can go wrong in this crate.
///
/// Each variant names the violated condition and carries the offending
/// values, so the message says what to fix. Numerical failures of an
/// iterative solver are reported with the state it reached.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A number that must be finite is NaN or infinite (a scalar argument,
    /// or a value derived from finite inputs that overflowed).
    #[error("{name} must be finite, found a non-finite value")]
    NonFinite {
        /// The argument that held the value.
        name: &'static str,
    },

    /// An entry of a vector or matrix argument is NaN or infinite: the
    /// first such entry, by position.
    #[error("{name} must be finite: entry {} is {}", position(*.row, *.column), short(.value))]
    NonFiniteEntry {
        /// The argument.
        name: &'static str,
        /// The index of the entry in a vector, or its row in a matrix.
        row: usize,
        /// Its column in a matrix (`None` for a vector).
        column: Option<usize>,
        /// The value found (NaN or ±∞).
        value: f64,
    },

    /// Two objects that must share a dimension do not.
    #[error("dimension mismatch in {name}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// The argument whose size is wrong.
        name: &'static str,
        /// The size the other arguments require.
        expected: usize,
        /// The size that was given.
        found: usize,
    },

    /// A matrix that must be square is not.
    #[error("{name} must be square, got {rows}×{cols}")]
    NotSquare {
        /// The argument.
        name: &'static str,
        /// Its number of rows.
        rows: usize,
        /// Its number of columns.
        cols: usize,
    },

    /// An object of dimension zero, or an empty list where one item is needed.
    #[error("{name} must not be empty")]
    Empty {
        /// The argument.
        name: &'static str,
    },

    /// A covariance matrix is not symmetric within the stated tolerance.
    #[error(
        "covariance is not symmetric: largest |Σ_ij − Σ_ji| = {} exceeds the tolerance {}", short(.asymmetry), short(.tolerance)
    )]
    NotSymmetric {
        /// The largest absolute asymmetry found.
        asymmetry: f64,
        /// The tolerance it was compared with (relative to the largest entry).
        tolerance: f64,
    },

    /// A covariance is not positive definite.
    #[error(
        "covariance is not positive definite: smallest eigenvalue {} (largest {})", short(.min_eigenvalue), short(.max_eigenvalue)
    )]
    NotPositiveDefinite {
        /// The smallest eigenvalue found.
        min_eigenvalue: f64,
        /// The largest eigenvalue, for scale.
        max_eigenvalue: f64,
    },

    /// The basis of a spiked covariance does not have orthonormal columns.
    #[error("spiked covariance basis is not orthonormal: max |UᵀU − I| = {}", short(.deviation))]
    NotOrthonormal {
        /// The largest deviation of `UᵀU` from the identity.
        deviation: f64,
    },

    /// The leading variances of a spiked covariance are not descending or
    /// do not lie strictly above the noise level.
    #[error(
        "spiked covariance variances must be descending and above the noise level {}: entry {index} is {}", short(.noise), short(.variance)
    )]
    InvalidSpectrum {
        /// The index of the first offending variance.
        index: usize,
        /// Its value.
        variance: f64,
        /// The noise level `σ²`.
        noise: f64,
    },

    /// A pooled covariance estimated from data is singular.
    #[error(
        "the pooled sample covariance is singular (smallest eigenvalue {}, {zero_directions} directions without variance, e.g. constant pixels); use Fit::LedoitWolf or Fit::Ppca {{ rank }} instead", short(.min_eigenvalue)
    )]
    SingularCovariance {
        /// The smallest eigenvalue of the pooled estimate.
        min_eigenvalue: f64,
        /// How many eigenvalues are zero to working precision.
        zero_directions: usize,
    },

    /// The data cannot support the requested fit even with regularization
    /// (no within-class variance at all, or a probabilistic-PCA noise level
    /// of zero because the data span at most `rank` directions).
    #[error("cannot fit {fit}: {reason}")]
    DegenerateFit {
        /// The fit that was asked for (`"Fit::Pooled"`, `"Fit::LedoitWolf"`, `"Fit::Ppca"`).
        fit: &'static str,
        /// What is degenerate and what to do instead.
        reason: &'static str,
    },

    /// A probability (such as the class prior) outside `(0, 1)`.
    #[error("{name} must be a probability in (0, 1), got {}", short(.value))]
    InvalidProbability {
        /// The argument.
        name: &'static str,
        /// Its value.
        value: f64,
    },

    /// The two class means coincide: no classifier beats the prior.
    #[error("the class means are identical: the classes cannot be separated")]
    IdenticalMeans,

    /// Classifier weights `w = 0`: the classifier is undefined.
    #[error("classifier weights must not be all zero")]
    ZeroWeights,

    /// A budget `ε` that is negative or not finite.
    #[error("budget must be finite and non-negative, got {}", short(.value))]
    InvalidBudget {
        /// The budget given.
        value: f64,
    },

    /// An ℓp norm with `p < 1` (not a norm) or `p` not a number.
    #[error("ℓp threats need p ≥ 1 (p = ∞ allowed), got p = {}", short(.p))]
    InvalidNorm {
        /// The exponent given.
        p: f64,
    },

    /// A rank `k` outside `1..=max`.
    #[error("rank k must lie in 1..={max}, got {k}")]
    InvalidRank {
        /// The rank given.
        k: usize,
        /// The largest rank allowed here.
        max: usize,
    },

    /// The top-`k` eigenspace is not unique because `λ_k = λ_{k+1}`.
    #[error(
        "the top-{k} eigenspace is ambiguous: λ_{k} = {} and λ_{next} = {} are equal within tolerance", short(.lambda_k), short(.lambda_next),
        next = k + 1
    )]
    AmbiguousEigenspace {
        /// The rank that cuts a block of equal eigenvalues.
        k: usize,
        /// The k-th eigenvalue.
        lambda_k: f64,
        /// The (k+1)-th eigenvalue.
        lambda_next: f64,
    },

    /// A number of samples, labels or points that does not fit the task.
    #[error("{name}: need at least {needed}, got {found}")]
    NotEnoughSamples {
        /// What is counted.
        name: &'static str,
        /// The minimum required.
        needed: usize,
        /// What was given.
        found: usize,
    },

    /// A parameter outside its valid range (named with the reason).
    #[error("invalid {name} = {}: {reason}", short(.value))]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What the valid range is.
        reason: &'static str,
    },

    /// The operation needs the symmetric model (`c = 0`, prior `1/2`). No
    /// function of the crate returns it any more: robust optima and
    /// trade-offs accept every two-class model ([THEORY P4′](crate::theory#p4-any-means-any-prior)). Kept so that
    /// matching code still compiles.
    #[error(
        "this operation needs the symmetric model (means ±μ, prior 1/2): center norm {}, prior {}", short(.center_norm), short(.prior)
    )]
    NotSymmetricModel {
        /// `‖(μ₊ + μ₋)/2‖`.
        center_norm: f64,
        /// The prior `π`.
        prior: f64,
    },

    /// A combination of inputs the crate does not support (with the reason).
    #[error("unsupported: {0}")]
    Unsupported(String),

    /// An iterative solver stopped before reaching its target.
    #[error(
        "{solver} did not converge in {iterations} iterations: {residual} {}, target {}", short(.gap), short(.target)
    )]
    NoConvergence {
        /// The solver.
        solver: &'static str,
        /// Iterations taken.
        iterations: usize,
        /// What `gap` measures: `"duality gap"` (certified dual solvers),
        /// `"relative secular residual |g(λ) − ε|/ε"` (the secular equation),
        /// `"bracket width"` (scalar root finders), …
        residual: &'static str,
        /// The residual reached (see `residual` for its meaning).
        gap: f64,
        /// The gap that was asked for.
        target: f64,
    },

    /// A decomposition failed inside the linear-algebra backend.
    #[error("{0} decomposition failed to converge")]
    Decomposition(&'static str),

    /// Empirical adversarial training (`empirical::adversarial_training`)
    /// stopped before its stationarity criterion was met: the iteration cap
    /// was reached, or the line search could not decrease the loss any more.
    #[error(
        "adversarial training stopped after {iterations} iterations without converging ({reason}): stationarity {} above the tolerance {}, loss {}", short(.stationarity), short(.tolerance), short(.loss)
    )]
    TrainingNoConvergence {
        /// Iterations taken.
        iterations: usize,
        /// The stationarity measure reached (the norm of the gradient, or of
        /// the minimal-norm subgradient for ℓ∞ threats and on the kink of an
        /// ellipsoidal threat).
        stationarity: f64,
        /// The tolerance that was asked for.
        tolerance: f64,
        /// The training loss at the last iterate.
        loss: f64,
        /// Why it stopped.
        reason: &'static str,
    },

    /// The samples are linearly separable with a positive robust margin, so
    /// the unregularized robust logistic loss has no minimizer: scaling the
    /// separating classifier up drives the loss to 0.
    #[error(
        "the samples are linearly separable with a positive robust margin at budget {}: the unregularized robust logistic loss has no minimizer (it tends to 0 as ‖w‖ → ∞); set l2_penalty > 0", short(.budget)
    )]
    LinearlySeparable {
        /// The training budget `ε`.
        budget: f64,
    },

    /// Robust training ended at `w = 0`: at this budget no linear classifier
    /// beats the constant prediction on the samples.
    #[error(
        "at budget {} the robust training loss is minimized by w = 0: no linear classifier beats the constant prediction", short(.budget)
    )]
    ZeroOptimum {
        /// The training budget `ε`.
        budget: f64,
    },

    /// A data file bundled with the crate could not be parsed.
    #[error("{file}, line {line}: {reason}")]
    InvalidData {
        /// The file.
        file: &'static str,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// A target optimal robust error that no budget of the threat reaches:
    /// `RE*(ε)` rises from the Bayes error at `ε = 0` to its supremum
    /// (`1/2`, or `Φ(−r*(∞)) < 1/2` when the threat cannot move the mean
    /// along some directions), see `tradeoff::matched_budget`.
    #[error(
        "target optimal robust error {} is unreachable: this threat's budgets reach [{}, {}] (the Bayes error at ε = 0 up to the limit as ε → ∞)", short(.target), short(.min), short(.max)
    )]
    UnreachableTarget {
        /// The target that was asked for.
        target: f64,
        /// The smallest reachable value, the Bayes error.
        min: f64,
        /// The largest reachable value, `sup_ε RE*(ε)`.
        max: f64,
    },

    /// A class label outside `0..classes` (multi-class models and
    /// classifiers label classes `0, 1, …, K − 1`).
    #[error("{name}: entry {index} is {label}, but labels must lie in 0..{classes}")]
    LabelOutOfRange {
        /// The argument holding the labels.
        name: &'static str,
        /// The position of the first offending label (0 for a single label).
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes `K`.
        classes: usize,
    },

    /// A class of a multi-class fit without any sample.
    #[error(
        "class {class} has no samples: every label in 0..{classes} needs at least one (the number of classes is the largest label plus one)"
    )]
    EmptyClass {
        /// The class without samples.
        class: usize,
        /// The number of classes `K`.
        classes: usize,
    },

    /// Two rows that must differ are identical: two class means of a
    /// multi-class model, or two weight rows of a multi-class classifier
    /// (their decision boundary would not exist).
    #[error("rows {first} and {second} of {name} are identical")]
    IdenticalRows {
        /// The argument (`"means"` or `"weights"`).
        name: &'static str,
        /// The first row.
        first: usize,
        /// The second row.
        second: usize,
    },

    /// A saved result (feature `serde`) in a layout newer than this version
    /// of the crate reads: the file was written by a later release.
    #[error(
        "{name} {found} was written by a newer version of manifold-robustness; this version reads {name} {supported} and older"
    )]
    UnsupportedFormat {
        /// The field that holds the version (`"format"`).
        name: &'static str,
        /// The version the file has.
        found: u32,
        /// The newest version this crate reads.
        supported: u32,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// A number in short form for messages: plain decimals between `1e-4` and
/// `1e15`, otherwise scientific (`1e-300`, never 300 zeros), at most the
/// 17 significant digits that identify the double.
pub(crate) struct Short(f64);

/// `Short` of a field (thiserror passes fields by reference).
pub(crate) fn short(x: &f64) -> Short {
    Short(*x)
}

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.0;
        let magnitude = x.abs();
        if x == 0.0 || !x.is_finite() || (1e-4..1e15).contains(&magnitude) {
            write!(f, "{x}")
        } else {
            write!(f, "{x:e}")
        }
    }
}

/// `"3"` for a vector entry, `"(row 3, column 1)"` for a matrix entry.
fn position(row: usize, column: Option<usize>) -> String {
    match column {
        None => row.to_string(),
        Some(c) => format!("(row {row}, column {c})"),
    }
}

/// Checks that every entry of a vector is finite; the error names the
/// first non-finite entry.
pub(crate) fn ensure_finite(name: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(row) => Err(Error::NonFiniteEntry {
            name,
            row,
            column: None,
            value: values[row],
        }),
    }
}

/// Checks that a scalar argument is finite.
pub(crate) fn ensure_finite_value(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite { name })
    }
}

/// Checks that every entry of a matrix is finite; the error names the
/// first non-finite entry in column-major order by row and column.
pub(crate) fn ensure_finite_matrix(name: &'static str, m: &nalgebra::DMatrix<f64>) -> Result<()> {
    match m.as_slice().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFiniteEntry {
            name,
            row: i % m.nrows(),
            column: Some(i / m.nrows()),
            value: m.as_slice()[i],
        }),
    }
}

/// Checks that a length equals the expected dimension.
pub(crate) fn ensure_dim(name: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::DimensionMismatch {
            name,
            expected,
            found,
        })
    }
}

/// Checks that a budget is finite and non-negative.
pub(crate) fn ensure_budget(value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidBudget { value })
    }
}
