//! The robust logistic loss on a data set: its value, (sub)gradients and
//! directional derivatives at the kinks of `σ_K`.

use nalgebra::{DMatrix, DVector};

use super::TrainingOptions;
use super::faces::{Face, TieSubspace, gauge_bound};
use super::kinks::{KinkState, KinkSubspace};
use crate::classifier::Label;
use crate::error::Result;
use crate::threat::Threat;

/// Frank–Wolfe iterations for the minimal-norm element of an η-face (plus
/// `20d`): a few hundred suffice on the faces of the tests.
const MAX_FACE_ITERATIONS: usize = 1000;

/// `ln(1 + eᵗ)` without overflow or cancellation.
pub(super) fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

pub(super) use crate::linalg::sign;

/// `1/(1 + e⁻ᵗ)` without overflow.
pub(super) fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// How `σ_K` is non-smooth, which decides the solver's stopping rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kinks {
    /// Differentiable wherever `σ_K(w) > 0` (ℓp for `p ∉ {1, 2, ∞}`), or
    /// `ε = 0`.
    Smooth,
    /// `σ_K = ‖·‖₁` (ℓ∞ threat): smooth inside each orthant.
    Orthants,
    /// `‖·‖_∞` (ℓ1 threat) or a union: kinks at ties.
    Ties,
    /// An ellipsoid, `σ_K(w) = ‖Aᵀw‖`: smooth off the kink subspace
    /// `N = {w : Aᵀw = 0}` (`{0}` when `A` has full row rank).
    Subspace,
}
/// The tie structure of a point: its η-face and the tie subspace.
pub(super) struct Ties<'a> {
    face: Face<'a>,
    pub(super) subspace: TieSubspace,
}

/// The robust logistic loss on a data set.
pub(super) struct Objective<'a> {
    x: &'a DMatrix<f64>,
    signs: DVector<f64>,
    pub(super) threat: &'a Threat,
    pub(super) eps: f64,
    pub(super) lambda: f64,
    fit_bias: bool,
    pub(super) kinks: Kinks,
    /// The kink subspace, for [`Kinks::Subspace`].
    pub(super) subspace: Option<KinkSubspace<'a>>,
}

/// A point `θ = (w, b)` with its loss; `θ` has `d + 1` entries, the last
/// being `b` (held at 0 when the bias is not fitted).
pub(super) struct Point {
    pub(super) theta: DVector<f64>,
    /// `Xw`, without the bias.
    pub(super) scores: DVector<f64>,
    /// `σ_K(w)`.
    pub(super) support: f64,
    pub(super) loss: f64,
    /// `min_j y_j(wᵀx_j + b) − ε σ_K(w)`.
    pub(super) min_robust_margin: f64,
}

/// The pieces of the (sub)gradient at a point.
pub(super) struct Gradient {
    /// `∇_w` of the loss without the `σ_K` term, and `∂_b L` last:
    /// `(−(1/n) Xᵀ(y∘s) + λw, −(1/n) Σ y_j s_j)`.
    pub(super) smooth: DVector<f64>,
    /// `s̄`, the coefficient of `ε ∂σ_K(w)`.
    pub(super) mean_weight: f64,
    /// The stationarity subgradient: the minimal-norm one for ℓ∞ and on
    /// the kink of an ellipsoid, the one with `v*(w)` otherwise.
    pub(super) stationary: DVector<f64>,
    /// Where the point sits relative to an ellipsoid's kink subspace.
    pub(super) kink: KinkState,
}

impl<'a> Objective<'a> {
    pub(super) fn new(
        x: &'a DMatrix<f64>,
        y: &[Label],
        threat: &'a Threat,
        eps: f64,
        options: &TrainingOptions,
    ) -> Objective<'a> {
        let kinks = if eps == 0.0 {
            Kinks::Smooth
        } else if threat.union_parts().is_some() {
            Kinks::Ties
        } else if threat.is_ellipsoid() {
            Kinks::Subspace
        } else {
            match threat.lp_exponent() {
                Some(p) if p == f64::INFINITY => Kinks::Orthants,
                Some(1.0) => Kinks::Ties,
                _ => Kinks::Smooth,
            }
        };
        let subspace = if kinks == Kinks::Subspace {
            KinkSubspace::new(threat)
        } else {
            None
        };
        Objective {
            x,
            signs: DVector::from_iterator(y.len(), y.iter().map(|l| l.sign())),
            threat,
            eps,
            lambda: options.l2_penalty,
            fit_bias: options.fit_bias,
            kinks,
            subspace,
        }
    }

    pub(super) fn dim(&self) -> usize {
        self.x.ncols()
    }

    fn n(&self) -> f64 {
        self.x.nrows() as f64
    }

    /// Start from the class-mean difference `u = x̄₊ − x̄₋`, scaled to
    /// `w₀ = u/‖u‖²` (the class means then differ by 1 in score), with the
    /// bias centering the scores at the log prior odds.
    pub(super) fn start(&self, positives: usize) -> DVector<f64> {
        let d = self.dim();
        let negatives = self.x.nrows() - positives;
        // Xᵀ(y / n_y) = x̄₊ − x̄₋; Xᵀ(1 / n_y)/2 is their midpoint.
        let weights_diff = self.signs.map(|s| {
            if s > 0.0 {
                1.0 / positives as f64
            } else {
                -1.0 / negatives as f64
            }
        });
        let u = crate::linalg::mat_tr_vec(self.x, &weights_diff);
        let mut theta = DVector::zeros(d + 1);
        let norm_sq = u.norm_squared();
        if norm_sq > 0.0 && norm_sq.is_finite() {
            theta.rows_mut(0, d).copy_from(&(&u / norm_sq));
        }
        if self.fit_bias {
            let weights_mid = weights_diff.abs() * 0.5;
            let mid = crate::linalg::mat_tr_vec(self.x, &weights_mid);
            let w = theta.rows(0, d);
            theta[d] = -w.dot(&mid) + (positives as f64 / negatives as f64).ln();
        }
        theta
    }

    pub(super) fn weights(&self, theta: &DVector<f64>) -> DVector<f64> {
        theta.rows(0, self.dim()).into_owned()
    }

    /// The point `(0, b₀)` with the best bias for `w = 0`: `b₀ = ln(n₊/n₋)`
    /// (the log prior odds) when the bias is fitted, else 0.
    pub(super) fn zero_point(&self) -> DVector<f64> {
        let d = self.dim();
        let mut theta = DVector::zeros(d + 1);
        if self.fit_bias {
            let positives = self.signs.iter().filter(|&&s| s > 0.0).count() as f64;
            theta[d] = (positives / (self.n() - positives)).ln();
        }
        theta
    }

    /// Whether `w = 0` minimizes the loss, given the (sub)gradient at
    /// [`zero_point`](Self::zero_point): iff `0 ∈ ∇_w F + ε s̄ K`, i.e. the
    /// gauge `γ_K(∇_w F) ≤ ε s̄` (`∂_b L = 0` there by the choice of `b₀`).
    /// With the bias fitted `∇_w F = −(n₊n₋/n²)(x̄₊ − x̄₋)` and `ε s̄ =
    /// 2ε n₊n₋/n²`, so the condition reads `γ_K(x̄₊ − x̄₋) ≤ 2ε`. Exact for ℓp
    /// threats, sufficient for unions (see [`gauge_bound`]); ellipsoids reach
    /// `w = 0` through their kink handling instead.
    pub(super) fn zero_is_optimal(&self, gradient: &Gradient) -> bool {
        let d = self.dim();
        let g = gradient.smooth.rows(0, d).into_owned();
        if g.iter().all(|&v| v == 0.0) {
            return true;
        }
        self.eps > 0.0 && gauge_bound(self.threat, &g) <= self.eps * gradient.mean_weight
    }

    /// For ℓ1 threats and unions: an element `e = (∇_w F + τv, ∂_b L)` of
    /// the η-subdifferential of the loss with `v` in the η-face of `K` at `w`
    /// for `η = relative_slack · σ_K(w)` (see [`Face`]), close to its
    /// minimal-norm element. Returns `e`, `‖e‖` and a lower bound `β > 0` (or
    /// `≤ 0` if none was found) on `min_{x ∈ set} xᵀe`, so that `−e` descends
    /// with slope at most `−β` along every element of the set.
    pub(super) fn tie_element(
        &self,
        point: &Point,
        gradient: &Gradient,
        relative_slack: f64,
        target: f64,
    ) -> (DVector<f64>, f64, f64) {
        let d = self.dim();
        let w = self.weights(&point.theta);
        let face = Face::new(self.threat, &w, relative_slack * point.support);
        let g = gradient.smooth.rows(0, d).into_owned();
        let bias = gradient.smooth[d];
        let tau = self.eps * gradient.mean_weight;
        let (element, norm, descent) =
            face.minimal_element(&g, bias, tau, target, MAX_FACE_ITERATIONS + 20 * d);
        let mut full = DVector::zeros(d + 1);
        full.rows_mut(0, d).copy_from(&element);
        full[d] = bias;
        (full, norm, descent)
    }

    /// The tie structure at `point` (ℓ1 threats and unions): the η-face for
    /// `η = relative_slack · σ_K(w)` and its tie subspace; `None` when a
    /// part's support vanishes at `w`.
    pub(super) fn ties(&self, point: &Point, relative_slack: f64) -> Option<Ties<'a>> {
        let w = self.weights(&point.theta);
        let face = Face::new(self.threat, &w, relative_slack * point.support);
        let subspace = face.tie_subspace(self.dim())?;
        Some(Ties { face, subspace })
    }

    /// The gradient of the loss restricted to `θ + (U × ℝ)`, `U` the tie
    /// subspace: `P_U(∇F + εs̄ v̄)` with the bias component kept. Every vertex
    /// of the face gives the same value.
    pub(super) fn reduced_gradient(&self, ties: &Ties, gradient: &Gradient) -> DVector<f64> {
        let d = self.dim();
        let tau = self.eps * gradient.mean_weight;
        let mut g = gradient.smooth.clone();
        let vertex = ties.subspace.vertex();
        for i in 0..d {
            g[i] += tau * vertex[i];
        }
        ties.subspace.project(&g)
    }

    /// The largest `t ∈ [0, 1]` (by bisection, to a relative `2⁻⁵²`) for which no piece of `σ_K`
    /// outside the face overtakes the face on the segment `base + t·δ`:
    /// `σ_K(w_t) − value_face(w_t) ≤ 10⁻¹²·σ_K(w_t)` (rounding of the two
    /// formulas). Along `U` that difference is convex in `t` for linear
    /// pieces and zero at first, so the set where it holds is an interval.
    pub(super) fn crossing(&self, ties: &Ties, base: &DVector<f64>, delta: &DVector<f64>) -> f64 {
        let d = self.dim();
        let overtaken = |t: f64| {
            let w = DVector::from_fn(d, |i, _| base[i] + t * delta[i]);
            let support = self.threat.support_unchecked(&w);
            support - ties.face.value(&w) > 1e-12 * support
        };
        if !overtaken(1.0) {
            return 1.0;
        }
        // Bisection to a relative width of 2⁻⁵² (at most ~1100 halvings).
        let (mut lo, mut hi) = (0.0, 1.0);
        while hi - lo > f64::EPSILON * hi {
            let mid = 0.5 * (lo + hi);
            if overtaken(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        lo
    }

    /// `θ` with its weights projected onto the kink subspace (ellipsoids only).
    pub(super) fn project_to_kink(&self, theta: &DVector<f64>) -> DVector<f64> {
        let d = self.dim();
        let mut out = theta.clone();
        if let Some(subspace) = &self.subspace {
            let w = subspace.project(&self.weights(theta));
            out.rows_mut(0, d).copy_from(&w);
        }
        out
    }

    /// Loss at `θ`: one product `Xw`.
    pub(super) fn evaluate(&self, theta: DVector<f64>) -> Point {
        let d = self.dim();
        let w = self.weights(&theta);
        let b = theta[d];
        let scores = crate::linalg::mat_vec(self.x, &w);
        let support = if self.eps > 0.0 {
            self.threat.support(&w)
        } else {
            0.0
        };
        let reach = self.eps * support;
        let mut sum = 0.0;
        let mut min_robust_margin = f64::INFINITY;
        for (score, sign) in scores.iter().zip(self.signs.iter()) {
            let z = sign * (score + b) - reach;
            min_robust_margin = min_robust_margin.min(z);
            sum += softplus(-z);
        }
        let loss = sum / self.n() + 0.5 * self.lambda * w.norm_squared();
        Point {
            theta,
            scores,
            support,
            loss,
            min_robust_margin,
        }
    }

    /// The (sub)gradient at an evaluated point: one product `Xᵀr`.
    ///
    /// # Errors
    /// [`Error::NoConvergence`] if the secular equation of the minimal
    /// subgradient on an ellipsoid's kink does not converge.
    pub(super) fn gradient(&self, point: &Point) -> Result<Gradient> {
        let d = self.dim();
        let n = self.n();
        let b = point.theta[d];
        let reach = self.eps * point.support;
        let mut weighted = DVector::zeros(self.x.nrows());
        let mut sum_weights = 0.0;
        let mut sum_weighted = 0.0;
        for j in 0..self.x.nrows() {
            let sign = self.signs[j];
            let s = sigmoid(reach - sign * (point.scores[j] + b));
            sum_weights += s;
            weighted[j] = sign * s;
            sum_weighted += weighted[j];
        }
        let mean_weight = sum_weights / n;
        let w = point.theta.rows(0, d);
        let data = crate::linalg::mat_tr_vec(self.x, &weighted);
        let mut smooth = DVector::zeros(d + 1);
        for i in 0..d {
            smooth[i] = -data[i] / n + self.lambda * w[i];
        }
        if self.fit_bias {
            smooth[d] = -sum_weighted / n;
        }
        let (stationary, kink) = self.stationary_subgradient(point, &smooth, mean_weight)?;
        Ok(Gradient {
            smooth,
            mean_weight,
            stationary,
            kink,
        })
    }

    pub(super) fn stationary_subgradient(
        &self,
        point: &Point,
        smooth: &DVector<f64>,
        mean_weight: f64,
    ) -> Result<(DVector<f64>, KinkState)> {
        let d = self.dim();
        let theta = &point.theta;
        let mut g = smooth.clone();
        if self.eps == 0.0 {
            return Ok((g, KinkState::Off));
        }
        let c = self.eps * mean_weight;
        match (self.kinks, &self.subspace) {
            (Kinks::Orthants, _) => {
                // ∂‖w‖₁: sign(w_i), or any value in [−1, 1] where w_i = 0;
                // the minimal-norm choice soft-thresholds the smooth part.
                for i in 0..d {
                    let wi = theta[i];
                    g[i] = if wi > 0.0 {
                        smooth[i] + c
                    } else if wi < 0.0 {
                        smooth[i] - c
                    } else if smooth[i] + c < 0.0 {
                        smooth[i] + c
                    } else if smooth[i] - c > 0.0 {
                        smooth[i] - c
                    } else {
                        0.0
                    };
                }
                Ok((g, KinkState::Off))
            }
            (Kinks::Subspace, Some(subspace)) if point.support == 0.0 => {
                let (element, state) =
                    subspace.minimal_subgradient(&smooth.rows(0, d).into_owned(), c)?;
                g.rows_mut(0, d).copy_from(&element);
                Ok((g, state))
            }
            _ => {
                let w = self.weights(theta);
                if let Some(v) = self.threat.steepest(&w) {
                    for i in 0..d {
                        g[i] += c * v[i];
                    }
                }
                Ok((g, KinkState::Off))
            }
        }
    }

    /// The directional derivative `L'(θ; δ) = max_{g ∈ ∂L(θ)} gᵀδ`: on an
    /// ellipsoid's kink `∇Fᵀδ + εs̄ σ_K(δ_w)`; elsewhere `gᵀδ` with the
    /// stationarity subgradient (the gradient where `L` is differentiable;
    /// for ℓ∞ the OWL-QN model of the step's orthant). Unchecked: a
    /// non-finite direction gives NaN, which rejects it, not a panic.
    pub(super) fn directional_derivative(&self, gradient: &Gradient, delta: &DVector<f64>) -> f64 {
        match gradient.kink {
            KinkState::Off => gradient.stationary.dot(delta),
            KinkState::Stay | KinkState::Leave => {
                let reach = self.eps * gradient.mean_weight;
                gradient.smooth.dot(delta)
                    + reach * self.threat.support_unchecked(&self.weights(delta))
            }
        }
    }

    /// `min_{g ∈ ∂L(θ)} gᵀδ`: on an ellipsoid's kink `∇Fᵀδ − εs̄ σ_K(δ_w)`.
    pub(super) fn lowest_slope(&self, gradient: &Gradient, delta: &DVector<f64>) -> f64 {
        match gradient.kink {
            KinkState::Off => gradient.stationary.dot(delta),
            KinkState::Stay | KinkState::Leave => {
                let reach = self.eps * gradient.mean_weight;
                gradient.smooth.dot(delta)
                    - reach * self.threat.support_unchecked(&self.weights(delta))
            }
        }
    }

    /// The gradient `∇F + εs̄ v*(w)` of the smooth piece `F + ε s̄ v*(w)ᵀ(·)`
    /// at the point of `gradient`, with `v*` taken at the off-kink point
    /// `off`; `None` if `σ_K(w) = 0` there.
    pub(super) fn linear_piece(&self, off: &Point, gradient: &Gradient) -> Option<DVector<f64>> {
        let v = self.threat.steepest(&self.weights(&off.theta))?;
        let c = self.eps * gradient.mean_weight;
        let mut g = gradient.smooth.clone();
        for i in 0..self.dim() {
            g[i] += c * v[i];
        }
        Some(g)
    }

    /// The gradient inside the orthant `xi` (ℓ∞ only): `σ_K = ξᵀw` there.
    pub(super) fn orthant_gradient(&self, gradient: &Gradient, xi: &DVector<f64>) -> DVector<f64> {
        let c = self.eps * gradient.mean_weight;
        let mut g = gradient.smooth.clone();
        for i in 0..self.dim() {
            g[i] += c * xi[i];
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covariance::Covariance;
    use crate::empirical::tests::random_data;

    #[test]
    fn softplus_and_sigmoid_are_stable() {
        assert_eq!(softplus(-800.0), 0.0);
        assert_eq!(softplus(800.0), 800.0);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-16);
        assert!((softplus(-40.0) - (-40f64).exp()).abs() < 1e-30);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert_eq!(sigmoid(800.0), 1.0);
        assert_eq!(sigmoid(0.0), 0.5);
    }

    /// Central differences: error `O(h²) + O(ε_mach/h)`, about 1e-10 at
    /// `h = 1e-5` for losses and curvatures of order one.
    /// The central differences `(L(θ + h e_i) − L(θ − h e_i)) / 2h` of the loss.
    fn central_differences(
        objective: &Objective<'_>,
        theta: &DVector<f64>,
        h: f64,
    ) -> DVector<f64> {
        DVector::from_fn(theta.len(), |i, _| {
            let mut plus = theta.clone();
            plus[i] += h;
            let mut minus = theta.clone();
            minus[i] -= h;
            (objective.evaluate(plus).loss - objective.evaluate(minus).loss) / (2.0 * h)
        })
    }

    #[test]
    fn gradient_matches_finite_differences_for_smooth_threats() {
        let (x, y) = random_data(60, 4, 11);
        let cov = Covariance::diagonal(DVector::from_vec(vec![2.0, 1.0, 0.5, 0.25])).unwrap();
        let threats = [
            Threat::l2(),
            Threat::lp(3.0).unwrap(),
            Threat::generative(&cov),
            Threat::eigenspace(&cov, 2).unwrap(),
        ];
        for threat in &threats {
            let options = TrainingOptions::default().with_l2_penalty(0.3);
            let objective = Objective::new(&x, &y, threat, 0.4, &options);
            let theta = DVector::from_vec(vec![0.7, -0.3, 0.2, 0.5, 0.1]);
            let point = objective.evaluate(theta.clone());
            let g = objective.gradient(&point).unwrap().stationary;
            let numeric = central_differences(&objective, &theta, 1e-5);
            for i in 0..5 {
                assert!(
                    (numeric[i] - g[i]).abs() < 1e-8 * (1.0 + g[i].abs()),
                    "{threat}, coordinate {i}: {} vs {}",
                    numeric[i],
                    g[i]
                );
            }
        }
    }

    /// For ℓ∞ the loss is smooth inside an orthant: away from zeros the
    /// minimal subgradient is the gradient, and finite differences agree.
    #[test]
    fn linf_subgradient_matches_finite_differences_inside_an_orthant() {
        let (x, y) = random_data(60, 3, 5);
        let options = TrainingOptions::default();
        let threat = Threat::linf();
        let objective = Objective::new(&x, &y, &threat, 0.25, &options);
        let theta = DVector::from_vec(vec![0.9, -0.4, 0.3, -0.2]);
        let point = objective.evaluate(theta.clone());
        let g = objective.gradient(&point).unwrap().stationary;
        let numeric = central_differences(&objective, &theta, 1e-6);
        for i in 0..4 {
            assert!(
                (numeric[i] - g[i]).abs() < 1e-8,
                "{i}: {} vs {}",
                numeric[i],
                g[i]
            );
        }
    }
}
