//! Exact minimal attacks on multi-class linear classifiers: the nearest
//! facet ([THEORY M2](crate::theory#m2-the-exact-attack-is-the-nearest-facet)).
//!
//! For `(x, y)` correctly classified, with facet margins
//! `h_j = s_y(x) − s_j(x) > 0`,
//!
//! ```text
//! t_j = h_j / σ_K(w_y − w_j),     t* = min_{j≠y} t_j,     δ = −t* v*(w_y − w_j*),
//! ```
//!
//! and `x + δ` ties the scores of `y` and of the class `j*` it flips to,
//! with every other score at most theirs. Each facet `j` is the two-class
//! attack on the facet classifier `(w_y − w_j, b_y − b_j)`, with the same
//! support and steepest direction ([`crate::attack`]); a facet with
//! `σ_K = 0` is unreachable (`t_j = ∞`). Facets whose budget is within
//! [`TIE_TOLERANCE`] (relative) of `t*` are reported as ties.
//!
//! **Cost.** [`FacetAttacks`] keeps one gauge (support and steepest
//! direction) per unordered pair of classes — `K(K − 1)/2` of them, each
//! computed once, on first use (`σ_K(−w) = σ_K(w)` and
//! `v*(−w) = −v*(w)` for the symmetric bodies of [`Threat`]). After that
//! one attack costs `O(Kd)` (the `K` scores) plus `O(d)` for the step, and
//! a batch of `n` points one matrix product (`n × d` times `d × K`) plus
//! `O(nK)`; the `n × d` perturbations are built only on request.
//! Budgets and directions do not depend on the scale of the classifier:
//! they are computed for the classifier divided by a power of two.

use std::sync::{Arc, OnceLock};

use nalgebra::{DMatrix, DVector};

use super::MulticlassClassifier;
use super::classifier::check_labels;
use crate::attack::{AttackOptions, Gauge};
use crate::classifier::Points;
use crate::error::{Error, Result, ensure_dim, ensure_finite};
use crate::threat::Threat;

/// Facets whose budget `t_j` satisfies `t_j ≤ t*(1 + TIE_TOLERANCE)` are
/// reported as tied with the one the attack takes.
pub const TIE_TOLERANCE: f64 = 1e-12;

/// The outcome of a minimal attack on one labeled point of a multi-class
/// classifier.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Perturbation {
    /// The point is already misclassified (some facet margin `≤ 0`): budget `0`.
    Misclassified,
    /// No facet can be reached: `σ_K(w_y − w_j) = 0` for every `j ≠ y`.
    Unreachable,
    /// The minimal flipping perturbation, onto the nearest facet.
    Flip {
        /// `δ = −t*(1 + overshoot) v*(w_y − w_to)`; without overshoot the
        /// scores of `y` and `to` tie at `x + δ`.
        #[cfg_attr(feature = "serde", serde(with = "crate::serialization::plain_vector"))]
        delta: DVector<f64>,
        /// The minimal flipping budget `t*` (without overshoot).
        budget: f64,
        /// The class the point is flipped to (the first on a tie).
        to: usize,
        /// For latent threats, the latent step `−t*(1 + overshoot) u*`;
        /// `None` otherwise.
        #[cfg_attr(
            feature = "serde",
            serde(with = "crate::serialization::plain_option_vector")
        )]
        latent: Option<DVector<f64>>,
        /// Other classes whose facets are reached at the same budget
        /// (within [`TIE_TOLERANCE`]), ascending; usually empty.
        tied: Vec<usize>,
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

    /// The class a flip goes to, `None` otherwise.
    pub fn to(&self) -> Option<usize> {
        match self {
            Perturbation::Flip { to, .. } => Some(*to),
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

    /// The two-class outcome, with the flipped-to class and ties added.
    fn from_two_class(
        outcome: crate::attack::Perturbation,
        to: usize,
        tied: Vec<usize>,
    ) -> Perturbation {
        match outcome {
            crate::attack::Perturbation::Misclassified => Perturbation::Misclassified,
            crate::attack::Perturbation::Unreachable => Perturbation::Unreachable,
            crate::attack::Perturbation::Flip {
                delta,
                budget,
                latent,
            } => Perturbation::Flip {
                delta,
                budget,
                to,
                latent,
                tied,
            },
        }
    }
}

/// The exact attacks of one classifier and one threat, with the facet
/// gauges computed once (see [`minimal_perturbations`] for the cost).
/// Cheap to clone.
///
/// # Example
/// ```
/// use manifold_robustness::{MulticlassClassifier, Threat};
/// use manifold_robustness::multiclass::{FacetAttacks, Perturbation};
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// // Scores x₁, −x₁ and x₂ − 1.
/// let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
/// let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0]))?;
/// let attacks = FacetAttacks::new(&clf, &Threat::l2())?;
/// // (2, 0.5) is class 0 with margins 4 (to class 1) and 2.5 (to class 2);
/// // the facets have ℓ2 norms 2 and √2: budgets 2 and 2.5/√2 ≈ 1.77.
/// let flip = attacks.attack(&DVector::from_vec(vec![2.0, 0.5]), 0)?;
/// assert_eq!(flip.to(), Some(2));
/// assert!((flip.budget() - 2.5 / 2f64.sqrt()).abs() < 1e-15);
/// // x + δ = (0.75, 1.75): the scores of classes 0 and 2 tie at 0.75.
/// let moved = DVector::from_vec(vec![2.0, 0.5]) + flip.delta().unwrap();
/// let s = clf.scores(&moved);
/// assert!((s[0] - s[2]).abs() < 1e-15 && (s[0] - 0.75).abs() < 1e-15);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FacetAttacks {
    inner: Arc<Inner>,
}

/// Two attack sets are equal when their classifiers, threats and
/// overshoots are (the gauges are a cache computed from these).
impl PartialEq for FacetAttacks {
    fn eq(&self, other: &FacetAttacks) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.inner.classifier == other.inner.classifier
                && self.inner.threat == other.inner.threat
                && self.inner.overshoot == other.inner.overshoot)
    }
}

#[derive(Debug)]
struct Inner {
    classifier: MulticlassClassifier,
    threat: Threat,
    overshoot: f64,
    /// Pair `(i, l)`, `i < l`, at `l(l − 1)/2 + i`: the gauge of `ŵ_i − ŵ_l`.
    gauges: Vec<OnceLock<Gauge>>,
}

/// The decision for one labeled point, before any step is built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    Misclassified,
    Unreachable,
    Flip {
        to: usize,
        budget: f64,
        /// The facet margin `h_to` at size one.
        margin: f64,
        tied: Vec<usize>,
    },
}

impl FacetAttacks {
    /// The attacks of `classifier` under `threat`, without overshoot.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the threat is tied to another
    /// dimension than the classifier's.
    pub fn new(classifier: &MulticlassClassifier, threat: &Threat) -> Result<FacetAttacks> {
        FacetAttacks::with_options(classifier, threat, &AttackOptions::default())
    }

    /// The attacks with options (an overshoot across the boundary, as in
    /// [`crate::minimal_perturbation_with`]).
    ///
    /// # Errors
    /// As [`FacetAttacks::new`], and [`Error::InvalidParameter`] for a
    /// negative or non-finite overshoot.
    pub fn with_options(
        classifier: &MulticlassClassifier,
        threat: &Threat,
        options: &AttackOptions,
    ) -> Result<FacetAttacks> {
        options.validate()?;
        if let Some(d) = threat.dim() {
            ensure_dim("threat", classifier.dim(), d)?;
        }
        let k = classifier.classes();
        Ok(FacetAttacks {
            inner: Arc::new(Inner {
                classifier: classifier.clone(),
                threat: threat.clone(),
                overshoot: options.overshoot,
                gauges: (0..k * (k - 1) / 2).map(|_| OnceLock::new()).collect(),
            }),
        })
    }

    /// The overshoot of every step.
    #[cfg(feature = "serde")]
    pub(crate) fn overshoot(&self) -> f64 {
        self.inner.overshoot
    }

    /// `σ_K` of the facet `y` against `j` at size one (`0` when
    /// unreachable), as the decisions use it.
    #[cfg(feature = "serde")]
    pub(crate) fn unit_support(&self, y: usize, j: usize) -> f64 {
        self.gauge(y, j).0.support
    }

    /// The classifier attacked.
    pub fn classifier(&self) -> &MulticlassClassifier {
        &self.inner.classifier
    }

    /// The threat.
    pub fn threat(&self) -> &Threat {
        &self.inner.threat
    }

    /// The gauge of the facet `y` against `j` (`y ≠ j`) and the sign that
    /// orients it: the stored gauge is that of `ŵ_min − ŵ_max`.
    fn gauge(&self, y: usize, j: usize) -> (&Gauge, f64) {
        let (i, l) = if y < j { (y, j) } else { (j, y) };
        let gauge = self.inner.gauges[l * (l - 1) / 2 + i].get_or_init(|| {
            let (w, _) = self.inner.classifier.unit_facet(i, l);
            Gauge::new(&self.inner.threat, &w)
        });
        (gauge, if y < j { 1.0 } else { -1.0 })
    }

    /// The support `σ_K(w_y − w_j)` of the facet `y` against `j`, for the
    /// classifier's own weights (`0` when unreachable).
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`], or [`Error::InvalidParameter`] for `y = j`.
    pub fn support(&self, y: usize, j: usize) -> Result<f64> {
        self.inner.classifier.check_facet(y, j)?;
        let (gauge, _) = self.gauge(y, j);
        Ok(crate::linalg::ldexp(
            gauge.support,
            self.inner.classifier.scale_exponent(),
        ))
    }

    /// The steepest direction `v*(w_y − w_j)` of the facet `y` against `j`
    /// (every flip of class `y` to `j` is a positive multiple of
    /// `−v*`); `None` when `σ_K(w_y − w_j) = 0`.
    ///
    /// # Errors
    /// As [`support`](Self::support).
    pub fn direction(&self, y: usize, j: usize) -> Result<Option<DVector<f64>>> {
        self.inner.classifier.check_facet(y, j)?;
        let (gauge, sign) = self.gauge(y, j);
        Ok(gauge.steepest.as_ref().map(|(v, _)| v * sign))
    }

    /// The nearest facet of a point from its facet margins at size one.
    fn decide(&self, y: usize, margin: impl Fn(usize) -> f64) -> Decision {
        let k = self.inner.classifier.classes();
        if (0..k).any(|j| j != y && margin(j) <= 0.0) {
            return Decision::Misclassified;
        }
        let budgets: Vec<f64> = (0..k)
            .map(|j| {
                if j == y {
                    return f64::INFINITY;
                }
                let (gauge, _) = self.gauge(y, j);
                if gauge.steepest.is_none() {
                    f64::INFINITY
                } else {
                    margin(j) / gauge.support
                }
            })
            .collect();
        let mut to = None;
        for j in 0..k {
            if budgets[j].is_finite() && to.is_none_or(|t: usize| budgets[j] < budgets[t]) {
                to = Some(j);
            }
        }
        let Some(to) = to else {
            return Decision::Unreachable;
        };
        let budget = budgets[to];
        let tied = (0..k)
            .filter(|&j| j != to && budgets[j] <= budget * (1.0 + TIE_TOLERANCE))
            .collect();
        Decision::Flip {
            to,
            budget,
            margin: margin(to),
            tied,
        }
    }

    /// The step of a decided flip: the two-class attack on the facet
    /// classifier, through the same [`Gauge`].
    fn perturbation(&self, y: usize, decision: Decision) -> Result<Perturbation> {
        match decision {
            Decision::Misclassified => Ok(Perturbation::Misclassified),
            Decision::Unreachable => Ok(Perturbation::Unreachable),
            Decision::Flip {
                to, margin, tied, ..
            } => {
                let (gauge, sign) = self.gauge(y, to);
                let outcome = gauge.flip(margin, sign, self.inner.overshoot)?;
                Ok(Perturbation::from_two_class(outcome, to, tied))
            }
        }
    }

    /// The minimal perturbation of one labeled point: `O(Kd)` once the
    /// facets of `y` have their gauges.
    ///
    /// # Errors
    /// [`Error::LabelOutOfRange`] (named `"y"`); [`Error::DimensionMismatch`]
    /// and [`Error::NonFiniteEntry`] (named `"point"`) for `x`;
    /// [`Error::NonFinite`] (named `"margins"`) when a score overflows
    /// even for the classifier at size one; [`Error::InvalidParameter`]
    /// for an overshoot whose step overflows.
    pub fn attack(&self, x: &DVector<f64>, y: usize) -> Result<Perturbation> {
        let clf = &self.inner.classifier;
        clf.check_label("y", y)?;
        ensure_dim("point", clf.dim(), x.len())?;
        ensure_finite("point", x.as_slice())?;
        let (w, b) = clf.unit_parts();
        let scores = w * x + b;
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(Error::NonFinite { name: "margins" });
        }
        let decision = self.decide(y, |j| scores[y] - scores[j]);
        self.perturbation(y, decision)
    }

    /// The minimal perturbations of every row of `xs` with labels `ys`:
    /// one matrix product for all scores, then `O(K)` per point.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the columns of `xs` or the number
    /// of labels do not match; [`Error::LabelOutOfRange`] (named
    /// `"labels"`); [`Error::NonFiniteEntry`] (named `"points"`, with row
    /// and column) for a non-finite entry; [`Error::NonFinite`] (named
    /// `"margins"`) for finite points whose scores overflow;
    /// [`Error::InvalidParameter`] for an overshoot whose largest step
    /// overflows.
    pub fn attack_batch<'a>(&self, xs: impl Points<'a>, ys: &[usize]) -> Result<BatchAttack> {
        let xs = &*xs.points();
        let clf = &self.inner.classifier;
        ensure_dim("points (columns)", clf.dim(), xs.ncols())?;
        ensure_dim("labels", xs.nrows(), ys.len())?;
        check_labels("labels", ys, clf.classes())?;
        let scores = clf.unit_scores_batch(xs);
        let mut decisions = Vec::with_capacity(ys.len());
        for (i, &y) in ys.iter().enumerate() {
            let row = scores.row(i);
            if row.iter().any(|s| !s.is_finite()) {
                return Err(crate::attack::non_finite_row(xs, i));
            }
            let decision = self.decide(y, |j| row[y] - row[j]);
            if let Decision::Flip { to, budget, .. } = &decision {
                // Every step must be representable (see `attack::check_step`).
                let (gauge, _) = self.gauge(y, *to);
                if let Some((v, _)) = &gauge.steepest {
                    let size = budget * (1.0 + self.inner.overshoot) * v.amax();
                    crate::attack::check_step(&DVector::from_element(1, size))?;
                }
            }
            decisions.push(decision);
        }
        Ok(BatchAttack {
            attacks: self.clone(),
            labels: ys.to_vec(),
            decisions,
        })
    }
}

/// The minimal perturbation of `(x, y)` under `threat`
/// ([THEORY M2](crate::theory#m2-the-exact-attack-is-the-nearest-facet)): the
/// nearest facet, with the class it flips to. Builds the `K − 1` facet
/// gauges of `y`; to attack many points use [`FacetAttacks`] or
/// [`minimal_perturbations`].
///
/// # Example
/// ```
/// use manifold_robustness::{MulticlassClassifier, Threat};
/// use manifold_robustness::multiclass::minimal_perturbation;
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
/// let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0]))?;
/// // ℓ∞: facet 0−1 is (2, 0) with ‖·‖₁ = 2, facet 0−2 is (1, −1) with ‖·‖₁ = 2;
/// // margins 4 and 2.5, so class 2 is nearer, at budget 1.25.
/// let flip = minimal_perturbation(&clf, &Threat::linf(), &DVector::from_vec(vec![2.0, 0.5]), 0)?;
/// assert_eq!((flip.to(), flip.budget()), (Some(2), 1.25));
/// assert_eq!(flip.delta().unwrap().as_slice(), &[-1.25, 1.25]);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// As [`FacetAttacks::new`] and [`FacetAttacks::attack`].
pub fn minimal_perturbation(
    clf: &MulticlassClassifier,
    threat: &Threat,
    x: &DVector<f64>,
    y: usize,
) -> Result<Perturbation> {
    FacetAttacks::new(clf, threat)?.attack(x, y)
}

/// [`minimal_perturbation`] with options (an overshoot across the boundary).
///
/// # Errors
/// As [`FacetAttacks::with_options`] and [`FacetAttacks::attack`].
pub fn minimal_perturbation_with(
    clf: &MulticlassClassifier,
    threat: &Threat,
    x: &DVector<f64>,
    y: usize,
    options: &AttackOptions,
) -> Result<Perturbation> {
    FacetAttacks::with_options(clf, threat, options)?.attack(x, y)
}

/// Minimal perturbations of every row of `xs` (labels `ys`): one matrix
/// product for the scores, the `K(K − 1)/2` facet gauges once, then `O(K)`
/// per point.
///
/// # Example
/// ```
/// use manifold_robustness::{MulticlassClassifier, Threat};
/// use manifold_robustness::multiclass::minimal_perturbations;
/// use manifold_robustness::nalgebra::{DMatrix, DVector};
///
/// let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
/// let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0]))?;
/// let xs = DMatrix::from_row_slice(3, 2, &[2.0, 0.5, -3.0, 0.0, 0.0, 0.0]);
/// let batch = minimal_perturbations(&clf, &Threat::l2(), &xs, &[0, 1, 2])?;
/// // Row 1: class 1 with margins 6 (to 0) and 4 (to 2, facet norm √2).
/// assert_eq!(batch.to(1), Some(2));
/// assert!((batch.budgets()[1] - 4.0 / 2f64.sqrt()).abs() < 1e-15);
/// // Row 2 scores 0, 0, −1: misclassified (a tie is an error).
/// assert_eq!(batch.budgets()[2], 0.0);
/// assert_eq!(batch.flip_matrix()[(0, 2)], 1);
/// # Ok::<(), manifold_robustness::Error>(())
/// ```
///
/// # Errors
/// As [`FacetAttacks::new`] and [`FacetAttacks::attack_batch`].
pub fn minimal_perturbations<'a>(
    clf: &MulticlassClassifier,
    threat: &Threat,
    xs: impl Points<'a>,
    ys: &[usize],
) -> Result<BatchAttack> {
    let xs = &*xs.points();
    FacetAttacks::new(clf, threat)?.attack_batch(xs, ys)
}

/// [`minimal_perturbations`] with options (an overshoot across the boundary).
///
/// # Errors
/// As [`FacetAttacks::with_options`] and [`FacetAttacks::attack_batch`].
pub fn minimal_perturbations_with<'a>(
    clf: &MulticlassClassifier,
    threat: &Threat,
    xs: impl Points<'a>,
    ys: &[usize],
    options: &AttackOptions,
) -> Result<BatchAttack> {
    let xs = &*xs.points();
    FacetAttacks::with_options(clf, threat, options)?.attack_batch(xs, ys)
}

/// Minimal attacks on a batch of labeled points (see
/// [`minimal_perturbations`]): budgets, the classes flipped to, and the
/// perturbations on request.
///
/// Budgets follow [`Perturbation::budget`]: `0` for misclassified points,
/// `f64::INFINITY` for unreachable ones.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchAttack {
    pub(crate) attacks: FacetAttacks,
    pub(crate) labels: Vec<usize>,
    pub(crate) decisions: Vec<Decision>,
}

impl BatchAttack {
    /// Number of points `n`.
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    /// True for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// The labels the batch was attacked with.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The minimal flipping budgets `t*_i` (`0` misclassified, `∞`
    /// unreachable), `O(n)`.
    pub fn budgets(&self) -> DVector<f64> {
        DVector::from_fn(self.len(), |i, _| self.budget(i))
    }

    /// The minimal flipping budget of point `i`.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn budget(&self, i: usize) -> f64 {
        match &self.decisions[i] {
            Decision::Misclassified => 0.0,
            Decision::Unreachable => f64::INFINITY,
            Decision::Flip { budget, .. } => *budget,
        }
    }

    /// The class point `i` is flipped to, `None` unless it is a flip.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn to(&self, i: usize) -> Option<usize> {
        match &self.decisions[i] {
            Decision::Flip { to, .. } => Some(*to),
            _ => None,
        }
    }

    /// The other classes tied with [`to`](Self::to) for point `i`.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn tied(&self, i: usize) -> &[usize] {
        match &self.decisions[i] {
            Decision::Flip { tied, .. } => tied,
            _ => &[],
        }
    }

    /// True when point `i` is flipped by a finite, positive budget.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn is_flip(&self, i: usize) -> bool {
        matches!(self.decisions[i], Decision::Flip { .. })
    }

    /// Number of flipped points.
    pub fn flipped(&self) -> usize {
        (0..self.len()).filter(|&i| self.is_flip(i)).count()
    }

    /// Number of already misclassified points.
    pub fn misclassified(&self) -> usize {
        self.decisions
            .iter()
            .filter(|d| matches!(d, Decision::Misclassified))
            .count()
    }

    /// Number of unreachable points.
    pub fn unreachable(&self) -> usize {
        self.decisions
            .iter()
            .filter(|d| matches!(d, Decision::Unreachable))
            .count()
    }

    /// The `K × K` flip matrix: entry `(y, j)` counts the points of class
    /// `y` whose minimal attack flips them to `j`.
    pub fn flip_matrix(&self) -> DMatrix<usize> {
        let k = self.attacks.classifier().classes();
        let mut counts = DMatrix::zeros(k, k);
        for (i, &y) in self.labels.iter().enumerate() {
            if let Some(to) = self.to(i) {
                counts[(y, to)] += 1;
            }
        }
        counts
    }

    /// The empirical robust error at budget `eps`: the fraction of points
    /// whose minimal budget is at most `eps` (misclassified points count at
    /// every budget), `0` for an empty batch.
    ///
    /// # Errors
    /// [`Error::InvalidBudget`] for a negative or non-finite `eps`.
    pub fn robust_error(&self, eps: f64) -> Result<f64> {
        crate::error::ensure_budget(eps)?;
        if self.is_empty() {
            return Ok(0.0);
        }
        let count = (0..self.len()).filter(|&i| self.budget(i) <= eps).count();
        Ok(count as f64 / self.len() as f64)
    }

    /// The full outcome for point `i`, as [`FacetAttacks::attack`] returns
    /// it. `O(d)`.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn perturbation(&self, i: usize) -> Perturbation {
        self.attacks
            .perturbation(self.labels[i], self.decisions[i].clone())
            .expect("every step was checked to be representable when the batch was built")
    }

    /// The perturbation of point `i`, the zero vector unless it is a flip.
    ///
    /// # Panics
    /// If `i ≥ n`.
    pub fn delta(&self, i: usize) -> DVector<f64> {
        match self.perturbation(i) {
            Perturbation::Flip { delta, .. } => delta,
            _ => DVector::zeros(self.attacks.classifier().dim()),
        }
    }

    /// All perturbations as the rows of an `n × d` matrix (zero rows for
    /// misclassified and unreachable points), `O(nd)`.
    pub fn deltas(&self) -> DMatrix<f64> {
        let mut out = DMatrix::zeros(self.len(), self.attacks.classifier().dim());
        for i in 0..self.len() {
            if self.is_flip(i) {
                out.row_mut(i).copy_from(&self.delta(i).transpose());
            }
        }
        out
    }

    /// The attacks the batch was computed with.
    pub fn attacks(&self) -> &FacetAttacks {
        &self.attacks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> MulticlassClassifier {
        let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
        MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0])).unwrap()
    }

    #[test]
    fn equidistant_facets_are_reported_as_ties() {
        // Scores x₁, −x₁, x₂: at (1, 0) class 0 has margin 2 to both, ℓ∞
        // facets (2, 0) and (1, −1) both with ‖·‖₁ = 2: budgets 1 and 1.
        let w = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, -1.0, 0.0, 0.0, 1.0]);
        let clf = MulticlassClassifier::new(w, DVector::from_vec(vec![0.0, 0.0, -1.0])).unwrap();
        let flip =
            minimal_perturbation(&clf, &Threat::linf(), &DVector::from_vec(vec![1.0, 0.0]), 0)
                .unwrap();
        match flip {
            Perturbation::Flip {
                to, tied, budget, ..
            } => {
                assert_eq!((to, budget), (1, 1.0));
                assert_eq!(tied, vec![2]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_labels_are_typed_errors() {
        let clf = example();
        let x = DVector::zeros(2);
        assert!(matches!(
            minimal_perturbation(&clf, &Threat::l2(), &x, 3),
            Err(Error::LabelOutOfRange {
                name: "y",
                label: 3,
                classes: 3,
                ..
            })
        ));
        let xs = DMatrix::zeros(2, 2);
        assert!(matches!(
            minimal_perturbations(&clf, &Threat::l2(), &xs, &[0, 7]),
            Err(Error::LabelOutOfRange {
                name: "labels",
                index: 1,
                label: 7,
                ..
            })
        ));
        assert!(matches!(
            minimal_perturbations(&clf, &Threat::l2(), &xs, &[0]),
            Err(Error::DimensionMismatch { name: "labels", .. })
        ));
    }

    #[test]
    fn unreachable_when_no_facet_moves() {
        // Facets (1, 0) and (0, 1) and (1, −1); the eigenspace threat of a
        // diagonal covariance along axis 3 cannot move any of them.
        let w = DMatrix::from_row_slice(3, 3, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0]);
        let clf = MulticlassClassifier::new(w, DVector::zeros(3)).unwrap();
        let cov = crate::Covariance::diagonal(DVector::from_vec(vec![1.0, 2.0, 3.0])).unwrap();
        let threat = Threat::eigenspace(&cov, 1).unwrap();
        let x = DVector::from_vec(vec![2.0, -1.0, 5.0]);
        assert_eq!(
            minimal_perturbation(&clf, &threat, &x, 0).unwrap(),
            Perturbation::Unreachable
        );
    }
}
