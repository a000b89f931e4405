//! Minimal adversarial perturbations of a linear classifier and their
//! energy profiles in the eigenbasis of the data ([THEORY §4](crate::theory#4-attacks)).
//!
//! # The attack
//!
//! For a point `(x, y)` with margin `m = y(wᵀx + b) > 0` and a threat body
//! `K` with support function `σ_K(w)` and steepest direction `v*(w)`
//! (see [`Threat`]), the smallest budget that flips the label is
//!
//! ```text
//! t* = m / σ_K(w),        δ* = −y t* v*(w),
//! ```
//!
//! and `x + δ*` lies exactly on the decision boundary `wᵀx + b = 0`. No
//! `δ ∈ tK` with `t < t*` can flip the point, because it moves the score
//! by at most `t σ_K(w) < m`. Three outcomes ([`Perturbation`]):
//!
//! - `m ≤ 0`: the point is already misclassified, `t* = 0`;
//! - `σ_K(w) = 0` (e.g. an eigenspace orthogonal to `w`): no perturbation
//!   in `K` moves the score at all, the point is *unreachable*;
//! - otherwise a flip, carrying `δ*`, `t*`, and for latent (ellipsoidal,
//!   model-based) threats the latent step `−y t* u*`.
//!
//! An *overshoot* `o ≥ 0` ([`AttackOptions`]) scales the step to
//! `δ = −y t*(1 + o) v*`, which moves the point strictly across the
//! boundary: the new score is `−y m o`. The reported `budget` stays `t*`.
//!
//! # Batches
//!
//! All flips of a linear classifier share the direction `v*(w)` up to sign,
//! so [`minimal_perturbations`] costs one matrix–vector product for the
//! margins, one steepest direction, and `O(n)`; the `n × d` perturbations
//! `δ_i = −y_i t*_i (1 + o) v*` are built only on request
//! ([`BatchAttack::deltas`]).
//!
//! # Energy profiles
//!
//! The energy profile of `δ ≠ 0` is the distribution
//! `e_i(δ) = (u_iᵀδ)² / ‖δ‖²` over the eigen-directions of `Σ` (descending
//! variance); for a spiked covariance the `d − k` noise directions are one
//! aggregated entry `‖(I − U_kU_kᵀ)δ‖² / ‖δ‖²`. Its top-`k` share is
//! `S_k(δ) = Σ_{i≤k} e_i` and its variance the Rayleigh quotient
//! `R(δ) = δᵀΣδ / ‖δ‖² = Σ_i λ_i e_i` ([`energy_profile`]).

use nalgebra::{DMatrix, DVector};

use crate::classifier::{Label, LinearClassifier, Points};
use crate::covariance::Covariance;
use crate::error::{Error, Result, ensure_dim, ensure_finite};
use crate::threat::Threat;

/// The outcome of a minimal attack on one labeled point.
///
/// The three cases are exhaustive ([THEORY §4](crate::theory#4-attacks)): a linear classifier either
/// already errs, cannot be moved by the threat, or is flipped by a unique
/// smallest budget.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Perturbation {
    /// The point is already misclassified (margin `≤ 0`): budget `0`.
    Misclassified,
    /// `σ_K(w) = 0`: no perturbation in the threat body changes the score,
    /// so no budget flips the point.
    Unreachable,
    /// The minimal flipping perturbation.
    Flip {
        /// `δ = −y t*(1 + overshoot) v*(w)`; with no overshoot `x + δ` lies
        /// on the decision boundary.
        #[cfg_attr(feature = "serde", serde(with = "crate::serialization::plain_vector"))]
        delta: DVector<f64>,
        /// The minimal flipping budget `t* = m / σ_K(w)` (without overshoot).
        budget: f64,
        /// For latent threats, the latent step `−y t*(1 + overshoot) u*` with
        /// `A u = δ` (see [`Threat::latent_steepest`]); `None` otherwise.
        #[cfg_attr(
            feature = "serde",
            serde(with = "crate::serialization::plain_option_vector")
        )]
        latent: Option<DVector<f64>>,
    },
}

impl Perturbation {
    /// The minimal flipping budget: `0` when misclassified, `t*` for a
    /// flip, `f64::INFINITY` when unreachable.
    pub fn budget(&self) -> f64 {
        match self {
            Perturbation::Misclassified => 0.0,
            Perturbation::Unreachable => f64::INFINITY,
            Perturbation::Flip { budget, .. } => *budget,
        }
    }

    /// The perturbation `δ` of a flip, `None` otherwise.
    pub fn delta(&self) -> Option<&DVector<f64>> {
        match self {
            Perturbation::Flip { delta, .. } => Some(delta),
            _ => None,
        }
    }

    /// The latent step of a flip under a latent threat, `None` otherwise.
    pub fn latent(&self) -> Option<&DVector<f64>> {
        match self {
            Perturbation::Flip { latent, .. } => latent.as_ref(),
            _ => None,
        }
    }

    /// True for [`Perturbation::Flip`].
    pub fn is_flip(&self) -> bool {
        matches!(self, Perturbation::Flip { .. })
    }
}

/// Options of the minimal attacks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AttackOptions {
    /// Relative overshoot `o ≥ 0`: the step is `δ = −y t*(1 + o) v*`, which
    /// leaves the score at `−y m o`, strictly across the boundary for
    /// `o > 0`. Use `o` well above rounding (`≳ 1e-10`) to be sure the
    /// predicted label changes. Default `0` (exactly on the boundary).
    pub overshoot: f64,
}

impl Default for AttackOptions {
    fn default() -> Self {
        AttackOptions { overshoot: 0.0 }
    }
}

impl AttackOptions {
    /// Sets the relative overshoot (default 0). The attacks check it:
    /// a negative or non-finite overshoot gives [`Error::InvalidParameter`]
    /// there.
    pub fn with_overshoot(mut self, overshoot: f64) -> Self {
        self.overshoot = overshoot;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.overshoot.is_finite() && self.overshoot >= 0.0 {
            Ok(())
        } else {
            Err(Error::InvalidParameter {
                name: "overshoot",
                value: self.overshoot,
                reason: "the overshoot must be finite and non-negative",
            })
        }
    }
}

/// Checks that a threat tied to a dimension matches the classifier's.
pub(crate) fn check_threat(clf: &LinearClassifier, threat: &Threat) -> Result<()> {
    match threat.dim() {
        Some(d) => ensure_dim("threat", clf.dim(), d),
        None => Ok(()),
    }
}

/// The minimal perturbation that flips `(x, y)` under `threat` ([THEORY §4](crate::theory#4-attacks)):
/// `δ* = −y t* v*(w)` with `t* = y(wᵀx + b)/σ_K(w)`, landing exactly on the
/// decision boundary.
///
/// # Example
/// ```
/// use manifold_robustness::{minimal_perturbation, Label, LinearClassifier, Perturbation, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// let clf = LinearClassifier::new(DVector::from_vec(vec![3.0, -4.0]), 1.0)?;
/// let x = DVector::from_vec(vec![2.0, 0.0]); // score 7
/// let flip = minimal_perturbation(&clf, &Threat::l2(), &x, Label::Pos)?;
/// assert!((flip.budget() - 1.4).abs() < 1e-15); // 7 / ‖w‖
/// let delta = flip.delta().unwrap();
/// assert!(clf.score(&(x + delta)).abs() < 1e-14);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` or the threat does not match the
/// classifier's dimension, [`Error::NonFiniteEntry`] for a non-finite
/// entry of `x` (named `"point"`), [`Error::NonFinite`] for a score that
/// overflows even for `w` scaled to entries of size one (named
/// `"margins"`: entries near `f64::MAX`, or `|b|/max|w_i|` beyond it),
/// [`Error::InvalidParameter`] for an overshoot whose step overflows.
pub fn minimal_perturbation(
    clf: &LinearClassifier,
    threat: &Threat,
    x: &DVector<f64>,
    y: Label,
) -> Result<Perturbation> {
    minimal_perturbation_with(clf, threat, x, y, &AttackOptions::default())
}

/// [`minimal_perturbation`] with options (an overshoot across the boundary).
///
/// # Example
/// ```
/// use manifold_robustness::{minimal_perturbation_with, AttackOptions, Label, LinearClassifier, Threat};
/// use manifold_robustness::nalgebra::DVector;
///
/// let clf = LinearClassifier::new(DVector::from_vec(vec![3.0, -4.0]), 1.0)?;
/// let x = DVector::from_vec(vec![2.0, 0.0]);
/// let options = AttackOptions::default().with_overshoot(0.01);
/// let flip = minimal_perturbation_with(&clf, &Threat::linf(), &x, Label::Pos, &options)?;
/// assert_eq!(flip.budget(), 1.0); // 7 / ‖w‖₁; the step itself is 1.01·(−1, 1)
/// let moved = x + flip.delta().unwrap();
/// assert!((clf.score(&moved) + 0.07).abs() < 1e-14); // −y m o
/// assert_eq!(clf.predict(&moved), Label::Neg);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// As [`minimal_perturbation`], and [`Error::InvalidParameter`] for a
/// negative or non-finite overshoot.
pub fn minimal_perturbation_with(
    clf: &LinearClassifier,
    threat: &Threat,
    x: &DVector<f64>,
    y: Label,
    options: &AttackOptions,
) -> Result<Perturbation> {
    options.validate()?;
    check_threat(clf, threat)?;
    ensure_dim("point", clf.dim(), x.len())?;
    ensure_finite("point", x.as_slice())?;
    // t* = m/σ_K(w) does not depend on the scale of (w, b): both are
    // computed for (w, b)/2^k with max |w_i|/2^k ∈ [1, 2).
    let (w, bias) = unit_classifier(clf);
    let margin = y.sign() * (w.dot(x) + bias);
    if !margin.is_finite() {
        // x is finite, so its score overflowed even at size one.
        return Err(Error::NonFinite { name: "margins" });
    }
    if margin <= 0.0 {
        return Ok(Perturbation::Misclassified);
    }
    Gauge::new(threat, &w).flip(margin, y.sign(), options.overshoot)
}

/// What a threat does to one linear function `wᵀx + b`: the support
/// `σ_K(w)` (in the scale of the `w` it was built from) and the steepest
/// direction `v*(w)` with its latent step, computed once. The two-class
/// attack builds one per call; the multi-class attacks keep one per pair
/// of classes (the facet `w_i − w_j`).
#[derive(Debug, Clone)]
pub(crate) struct Gauge {
    /// `σ_K(w)`, `0` when no direction of `K` moves the score.
    pub(crate) support: f64,
    /// `(v*(w), latent u*)`, `None` when `σ_K(w) = 0`.
    pub(crate) steepest: Option<(DVector<f64>, Option<DVector<f64>>)>,
}

impl Gauge {
    /// The gauge of `w` (finite, of the threat's dimension).
    pub(crate) fn new(threat: &Threat, w: &DVector<f64>) -> Gauge {
        let steepest = threat.steepest_unchecked(w);
        let support = if steepest.is_some() {
            threat.support_unchecked(w)
        } else {
            0.0
        };
        Gauge { support, steepest }
    }

    /// The minimal flip of a correctly classified point with margin
    /// `margin > 0` (in the scale of `w`) and label sign `sign = ±1`:
    /// `δ = −sign · t*(1 + overshoot) v*`, `t* = margin/σ_K(w)`.
    pub(crate) fn flip(&self, margin: f64, sign: f64, overshoot: f64) -> Result<Perturbation> {
        let Some((direction, latent)) = &self.steepest else {
            return Ok(Perturbation::Unreachable);
        };
        let budget = margin / self.support;
        if !budget.is_finite() {
            // σ_K(w) so small that no representable step flips the point.
            return Ok(Perturbation::Unreachable);
        }
        let step = -sign * budget * (1.0 + overshoot);
        let delta = step_along(direction, margin, self.support, -sign * (1.0 + overshoot));
        check_step(&delta)?;
        Ok(Perturbation::Flip {
            delta,
            budget,
            latent: latent.as_ref().map(|u| u * step),
        })
    }
}

/// `factor · (margin/support) · v*` without forming `margin/support`
/// alone: the budget underflows (to 0 or a subnormal with few digits) when
/// `margin ≪ support` although the step is representable, e.g. a latent
/// threat whose `|v*| ≈ support ≈ √λ_max` is huge. Both `v*` and the support
/// are divided by the power of two nearest the support first (exact).
pub(crate) fn step_along(
    direction: &DVector<f64>,
    margin: f64,
    support: f64,
    factor: f64,
) -> DVector<f64> {
    let k = crate::linalg::exponent(support);
    let coefficient = factor * (margin / crate::linalg::ldexp(support, -k));
    direction.map(|v| crate::linalg::ldexp(v, -k) * coefficient)
}

/// `(w, b)/2^k` with `max |w_i|/2^k ∈ [1, 2)`: the same decision rule at
/// size one (a bias beyond `2^k · f64::MAX` saturates, keeping the sign).
pub(crate) fn unit_classifier(clf: &LinearClassifier) -> (DVector<f64>, f64) {
    match crate::linalg::normalize(clf.weights()) {
        Some((w, k)) => (w, crate::linalg::ldexp(clf.bias(), -k)),
        // Unreachable: a classifier's weights are finite and non-zero.
        None => (clf.weights().clone(), clf.bias()),
    }
}

/// The error for row `i` of `points` whose margin is not finite: its
/// first non-finite entry, or (all entries finite) an overflow of the
/// margin itself.
pub(crate) fn non_finite_row(points: &DMatrix<f64>, i: usize) -> Error {
    match points.row(i).iter().position(|v| !v.is_finite()) {
        Some(column) => Error::NonFiniteEntry {
            name: "points",
            row: i,
            column: Some(column),
            value: points[(i, column)],
        },
        None => Error::NonFinite { name: "margins" },
    }
}

/// A perturbation must be representable: an overshoot that makes
/// `t*(1 + o) v*` overflow is a typed error, not an infinite step.
pub(crate) fn check_step(delta: &DVector<f64>) -> Result<()> {
    if delta.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "overshoot",
            value: f64::INFINITY,
            reason: "the overshot step t*(1 + overshoot) v* overflows; use a smaller overshoot",
        })
    }
}

/// Minimal attacks on a batch of points sharing one linear classifier.
///
/// Every flip is `δ_i = −y_i t*_i (1 + overshoot) v*(w)`: the batch stores
/// the budgets `t*_i` and the shared direction `v*`, and builds the
/// `n × d` perturbations only on request.
///
/// Budgets follow [`Perturbation::budget`]: `0` for misclassified points,
/// `f64::INFINITY` for unreachable ones.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAttack {
    /// Margins of the classifier scaled to size one (for the decisions).
    pub(crate) unit_margins: DVector<f64>,
    /// Margins of the classifier as given.
    pub(crate) margins: DVector<f64>,
    pub(crate) signs: Vec<f64>,
    pub(crate) budgets: DVector<f64>,
    pub(crate) support: f64,
    /// `σ_K(w)` of the classifier scaled to size one (for the steps).
    pub(crate) unit_support: f64,
    pub(crate) direction: Option<DVector<f64>>,
    pub(crate) latent_direction: Option<DVector<f64>>,
    pub(crate) overshoot: f64,
    pub(crate) dim: usize,
}

/// Minimal perturbations of every row of `xs` ([THEORY §4](crate::theory#4-attacks)): one
/// matrix–vector product `xs w` for the margins, one steepest direction
/// `v*(w)`, then `O(n)`.
///
/// # Example
/// ```
/// use manifold_robustness::{minimal_perturbations, Label, LinearClassifier, Threat};
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let clf = LinearClassifier::new(DVector::from_vec(vec![3.0, -4.0]), 0.0)?;
/// let xs = DMatrix::from_row_slice(3, 2, &[2.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
/// let batch = minimal_perturbations(&clf, &Threat::l2(), &xs, &[Label::Pos, Label::Neg, Label::Pos])?;
/// // Margins 6, 4 and −1: budgets 6/5, 4/5 and 0 (already misclassified).
/// assert_eq!(batch.budgets().as_slice(), &[1.2, 0.8, 0.0]);
/// assert_eq!(batch.direction().unwrap().as_slice(), &[0.6, -0.8]);
/// let deltas = batch.deltas();
/// assert!((deltas[(1, 0)] - 0.48).abs() < 1e-15); // +0.8 · v*
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] when the columns of `xs`, the labels
/// (`ys.len()` must equal the number of rows) or the threat do not match;
/// [`Error::NonFiniteEntry`] for a non-finite entry of `xs` (named
/// `"points"`, with its row and column), [`Error::NonFinite`] for finite
/// points whose score overflows (named `"margins"`, as for
/// [`minimal_perturbation`]), [`Error::InvalidParameter`] for an
/// overshoot whose largest step overflows.
pub fn minimal_perturbations<'a>(
    clf: &LinearClassifier,
    threat: &Threat,
    xs: impl Points<'a>,
    ys: &[Label],
) -> Result<BatchAttack> {
    minimal_perturbations_with(clf, threat, xs, ys, &AttackOptions::default())
}

/// [`minimal_perturbations`] with options (an overshoot across the boundary).
///
/// # Errors
/// As [`minimal_perturbations`], and [`Error::InvalidParameter`] for a
/// negative or non-finite overshoot.
pub fn minimal_perturbations_with<'a>(
    clf: &LinearClassifier,
    threat: &Threat,
    xs: impl Points<'a>,
    ys: &[Label],
    options: &AttackOptions,
) -> Result<BatchAttack> {
    let xs = &*xs.points();
    options.validate()?;
    check_threat(clf, threat)?;
    ensure_dim("points (columns)", clf.dim(), xs.ncols())?;
    ensure_dim("labels", xs.nrows(), ys.len())?;
    // Budgets are invariant to the scale of (w, b): computed at size one.
    let (w, bias) = unit_classifier(clf);
    let signs: Vec<f64> = ys.iter().map(|y| y.sign()).collect();
    // One pass over the points: each piece of scores becomes margins while
    // it is still in cache.
    let margins = crate::linalg::mat_vec_then(xs, &w, |first, piece| {
        for (m, s) in piece.iter_mut().zip(&signs[first..]) {
            *m = s * (*m + bias);
        }
    });
    // A NaN or infinite entry always makes its row's margin non-finite
    // (∞·0 is NaN), so checking the n margins replaces an O(nd) scan.
    if let Some(i) = margins.iter().position(|m| !m.is_finite()) {
        return Err(non_finite_row(xs, i));
    }
    let Gauge { support, steepest } = Gauge::new(threat, &w);
    // The public margins and support are those of (w, b) itself; the
    // decisions use the margins at size one (their signs agree, and they
    // cannot underflow to 0). Budgets and public margins in one O(n) pass.
    let k = crate::linalg::normalize(clf.weights()).map_or(0, |(_, k)| k);
    let mut budgets = DVector::zeros(margins.len());
    let mut public_margins = DVector::zeros(margins.len());
    let mut largest = 0.0f64;
    for ((&m, t), public) in margins
        .iter()
        .zip(budgets.iter_mut())
        .zip(public_margins.iter_mut())
    {
        *public = crate::linalg::ldexp(m, k);
        *t = if m <= 0.0 {
            0.0
        } else if support > 0.0 {
            // Overflows to +∞ (unreachable) only for a vanishing support.
            m / support
        } else {
            f64::INFINITY
        };
        if t.is_finite() {
            largest = largest.max(*t);
        }
    }
    let (direction, latent_direction) = match steepest {
        Some((v, u)) => (Some(v), u),
        None => (None, None),
    };
    if let Some(v) = &direction {
        // The largest step must be representable (see `check_step`).
        check_step(&DVector::from_element(
            1,
            largest * (1.0 + options.overshoot) * v.amax(),
        ))?;
    }
    let unit_support = support;
    let support = crate::linalg::ldexp(support, k);
    Ok(BatchAttack {
        unit_margins: margins,
        margins: public_margins,
        signs,
        budgets,
        support,
        unit_support,
        direction,
        latent_direction,
        overshoot: options.overshoot,
        dim: clf.dim(),
    })
}

impl BatchAttack {
    /// Number of points `n`.
    pub fn len(&self) -> usize {
        self.budgets.len()
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.budgets.is_empty()
    }

    /// Minimal flipping budgets `t*_i`: `0` misclassified, `f64::INFINITY`
    /// unreachable.
    pub fn budgets(&self) -> &DVector<f64> {
        &self.budgets
    }

    /// Margins `m_i = y_i(wᵀx_i + b)`.
    pub fn margins(&self) -> &DVector<f64> {
        &self.margins
    }

    /// The support `σ_K(w)` shared by every point (`0` when unreachable).
    pub fn support(&self) -> f64 {
        self.support
    }

    /// The shared steepest direction `v*(w)` (every flip is
    /// `−y_i t*_i (1 + overshoot) v*`), `None` when `σ_K(w) = 0`.
    pub fn direction(&self) -> Option<&DVector<f64>> {
        self.direction.as_ref()
    }

    /// The shared latent direction `u*` of a latent threat (every latent
    /// step is `−y_i t*_i (1 + overshoot) u*`), `None` otherwise.
    pub fn latent_direction(&self) -> Option<&DVector<f64>> {
        self.latent_direction.as_ref()
    }

    /// The overshoot the batch was built with.
    pub fn overshoot(&self) -> f64 {
        self.overshoot
    }

    /// True when point `i` is flipped by a finite, positive budget.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn is_flip(&self, i: usize) -> bool {
        self.unit_margins[i] > 0.0 && self.budgets[i].is_finite() && self.direction.is_some()
    }

    /// Number of flipped points.
    pub fn flipped(&self) -> usize {
        (0..self.len()).filter(|&i| self.is_flip(i)).count()
    }

    /// Number of already misclassified points (margin `≤ 0`).
    pub fn misclassified(&self) -> usize {
        self.unit_margins.iter().filter(|&&m| m <= 0.0).count()
    }

    /// Number of unreachable points (correct, but no budget flips them).
    pub fn unreachable(&self) -> usize {
        self.len() - self.flipped() - self.misclassified()
    }

    /// The coefficient `c_i` with `δ_i = c_i v*`: `−y_i t*_i (1 + overshoot)`
    /// for a flip, `0` otherwise.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn step(&self, i: usize) -> f64 {
        if self.is_flip(i) {
            -self.signs[i] * self.budgets[i] * (1.0 + self.overshoot)
        } else {
            0.0
        }
    }

    /// All step coefficients `c` (so the perturbations are `c v*ᵀ`), `O(n)`.
    pub fn steps(&self) -> DVector<f64> {
        DVector::from_fn(self.len(), |i, _| self.step(i))
    }

    /// The perturbation of point `i`: `δ_i = c_i v*`, the zero vector when
    /// the point is misclassified or unreachable (see [`budgets`](Self::budgets)).
    /// `O(d)`.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn delta(&self, i: usize) -> DVector<f64> {
        match &self.direction {
            Some(v) if self.is_flip(i) => step_along(
                v,
                self.unit_margins[i],
                self.unit_support,
                -self.signs[i] * (1.0 + self.overshoot),
            ),
            _ => DVector::zeros(self.dim),
        }
    }

    /// The full outcome for point `i`, as [`minimal_perturbation`] returns it.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn perturbation(&self, i: usize) -> Perturbation {
        if self.unit_margins[i] <= 0.0 {
            return Perturbation::Misclassified;
        }
        if !self.is_flip(i) {
            return Perturbation::Unreachable;
        }
        let step = self.step(i);
        Perturbation::Flip {
            delta: self.delta(i),
            budget: self.budgets[i],
            latent: self.latent_direction.as_ref().map(|u| u * step),
        }
    }

    /// All perturbations as the rows of an `n × d` matrix (`c v*ᵀ`, built
    /// now, `O(nd)` memory). Rows of misclassified and unreachable points
    /// are zero.
    pub fn deltas(&self) -> DMatrix<f64> {
        match &self.direction {
            // As `delta`: v* and the support divided by the power of two
            // nearest the support, so that no step underflows.
            Some(v) if self.unit_support > 0.0 => {
                let k = crate::linalg::exponent(self.unit_support);
                let support = crate::linalg::ldexp(self.unit_support, -k);
                let coefficients = DVector::from_fn(self.len(), |i, _| {
                    if self.is_flip(i) {
                        -self.signs[i] * (1.0 + self.overshoot) * (self.unit_margins[i] / support)
                    } else {
                        0.0
                    }
                });
                coefficients * v.map(|x| crate::linalg::ldexp(x, -k)).transpose()
            }
            _ => DMatrix::zeros(self.len(), self.dim),
        }
    }

    /// The mean energy profile of the batch's flips, `None` when nothing
    /// is flipped.
    ///
    /// Every flip is a multiple of the shared direction `v*`, and energy
    /// profiles do not see scale or sign, so the mean over flipped points
    /// *is* the profile of `v*`: this costs one [`energy_profile`].
    ///
    /// # Errors
    /// As [`energy_profile`] (a covariance of another dimension).
    pub fn mean_energy_profile(&self, cov: &Covariance) -> Result<Option<EnergyProfile>> {
        match &self.direction {
            Some(v) if self.flipped() > 0 => energy_profile(cov, v).map(Some),
            _ => Ok(None),
        }
    }
}

/// How a perturbation's energy spreads over the eigen-directions of `Σ`.
///
/// `shares()[i] = (u_iᵀδ)² / ‖δ‖²` for each explicit eigen-direction in
/// descending variance; for a spiked covariance a final entry aggregates
/// the `d − k` noise directions. The shares sum to one.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyProfile {
    pub(crate) shares: DVector<f64>,
    pub(crate) eigenvalues: DVector<f64>,
    pub(crate) explicit: usize,
    pub(crate) dim: usize,
}

/// The energy profile of a perturbation `δ ≠ 0` under `cov` ([THEORY §4](crate::theory#4-attacks)):
/// `O(d²)` dense, `O(d)` diagonal, `O(dk)` spiked.
///
/// # Example
/// ```
/// use manifold_robustness::{energy_profile, Covariance};
/// use manifold_robustness::nalgebra::DVector;
///
/// let cov = Covariance::diagonal(DVector::from_vec(vec![1.0, 4.0]))?;
/// let profile = energy_profile(&cov, &DVector::from_vec(vec![1.0, 1.0]))?;
/// assert_eq!(profile.shares().as_slice(), &[0.5, 0.5]); // variance 4 first
/// assert_eq!(profile.top_share(1)?, 0.5);
/// assert_eq!(profile.variance(), 2.5); // (4 + 1)/2
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`], [`Error::NonFinite`], and
/// [`Error::InvalidParameter`] for `δ = 0` (no direction, no profile).
pub fn energy_profile(cov: &Covariance, delta: &DVector<f64>) -> Result<EnergyProfile> {
    cov.check_vector("delta", delta)?;
    // Scale first: the energies of a tiny or huge δ must not under- or overflow.
    let scale = delta.amax();
    if scale == 0.0 {
        return Err(Error::InvalidParameter {
            name: "delta",
            value: 0.0,
            reason: "a zero perturbation has no energy profile",
        });
    }
    let energies = cov.block_energies_unchecked(&(delta / scale));
    let total: f64 = energies.iter().sum();
    Ok(EnergyProfile {
        shares: energies / total,
        eigenvalues: cov.eigenvalues().clone(),
        explicit: cov.explicit_directions(),
        dim: cov.dim(),
    })
}

impl EnergyProfile {
    /// Shares per spectral block, descending variance (`d` entries, or
    /// `k + 1` for a spiked covariance, the last one the noise block).
    pub fn shares(&self) -> &DVector<f64> {
        &self.shares
    }

    /// The block eigenvalues the shares refer to (as
    /// [`Covariance::eigenvalues`]).
    pub fn eigenvalues(&self) -> &DVector<f64> {
        &self.eigenvalues
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The top-`k` share `S_k = Σ_{i≤k} e_i`: the fraction of `‖δ‖²` in the
    /// `k` largest-variance directions.
    ///
    /// # Errors
    /// [`Error::InvalidRank`] unless `1 ≤ k ≤ d`; for a spiked covariance
    /// with `k_spiked < k < d`, [`Error::AmbiguousEigenspace`] (the cut
    /// falls inside the noise block, whose directions are not resolved).
    pub fn top_share(&self, k: usize) -> Result<f64> {
        if k == 0 || k > self.dim {
            return Err(Error::InvalidRank { k, max: self.dim });
        }
        if k == self.dim {
            return Ok(self.shares.sum());
        }
        if k > self.explicit {
            let noise = self.eigenvalues[self.eigenvalues.len() - 1];
            return Err(Error::AmbiguousEigenspace {
                k,
                lambda_k: noise,
                lambda_next: noise,
            });
        }
        Ok(self.shares.rows(0, k).sum())
    }

    /// The variance along `δ`, i.e. the Rayleigh quotient
    /// `R(δ) = δᵀΣδ/‖δ‖² = Σ_i λ_i e_i`.
    pub fn variance(&self) -> f64 {
        self.shares.dot(&self.eigenvalues)
    }
}

/// One line: the outcome, the budget and the perturbation's length; the
/// formatter's precision and width apply to each number
/// (`format!("{p:.3}")`).
impl std::fmt::Display for Perturbation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::display::number;
        match self {
            Perturbation::Misclassified => write!(f, "misclassified already (budget 0)"),
            Perturbation::Unreachable => {
                write!(f, "unreachable: no budget of this threat flips the point")
            }
            Perturbation::Flip {
                delta,
                budget,
                latent,
            } => {
                write!(
                    f,
                    "flip at budget {}, ‖δ‖ = {}",
                    number(f, *budget),
                    number(f, delta.norm())
                )?;
                match latent {
                    Some(u) => write!(f, ", latent step ‖u‖ = {}", number(f, u.norm())),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A summary: how many points were flipped, misclassified or out of reach,
/// and the median and mean flipping budget; the formatter's precision and
/// width apply to each number.
impl std::fmt::Display for BatchAttack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::display::batch_summary(
            f,
            [self.flipped(), self.misclassified(), self.unreachable()],
            self.budgets().as_slice(),
        )
    }
}

/// The variance `R` along the perturbation and its top-`k` shares for
/// `k = 1, 2, 4, …` (the resolved ones); the formatter's precision and
/// width apply to each number.
impl std::fmt::Display for EnergyProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::display::number;
        write!(
            f,
            "energy over {} directions: variance R = {}, top shares",
            self.dim(),
            number(f, self.variance())
        )?;
        let mut k = 1;
        while k < self.dim() {
            if let Ok(share) = self.top_share(k) {
                write!(f, " S_{k} = {}", number(f, share))?;
            }
            k *= 2;
        }
        Ok(())
    }
}
