//! # manifold-robustness
//!
//! Closed-form adversarial robustness in two-class Gaussian mixture models:
//! why regular attacks (perturbing the input) and generative attacks
//! (perturbing a generator's latent code) behave differently, computed
//! exactly.
//!
//! The model is `x | y ~ N(μ_y, Σ)` with `Σ = U Λ Uᵀ`. Everything is a
//! sum over the eigen-directions of `Σ`:
//!
//! - regular attacks move along **small**-variance directions, generative
//!   attacks along **large**-variance ones ([THEORY P1–P2](crate::theory#5-disentangling), [`energy_profile`]);
//! - the robust error is a closed form and is the CDF of the adversarial
//!   distance ([P3](crate::theory#p3-the-distance-law), [`Gmm::robust_error`]);
//! - adversarial training is exactly the Bayes classifier of a model whose
//!   covariance is extended along the attack's directions ([P4–P5](crate::theory#7-adversarial-training)).
//!
//! # Example
//! ```
//! use manifold_robustness::{default_model, Threat};
//!
//! let gmm = default_model();
//! let clf = gmm.bayes_classifier();
//! assert!((gmm.error(&clf)? - 0.01).abs() < 1e-14);
//! # Ok::<(), manifold_robustness::Error>(())
//! ```
//!
//! # Modules, in the order of the theory
//!
//! | THEORY | module |
//! |---|---|
//! | §1 model | [`covariance`], [`gmm`], [`fit`], [`default_model`](mod@default_model), [`datasets`] |
//! | §2 classifiers | [`classifier`] |
//! | §3 threats | [`threat`] |
//! | §4–5 attacks, disentangling | [`attack`], [`disentangle`] |
//! | §6 robust error | [`robust`] |
//! | §7 training in the population | [`training`] (closed form for ellipsoids, certified dual solver otherwise) |
//! | §8 trade-offs | [`tradeoff`] |
//! | §9 training on samples | [`empirical`] |
//! | multi-class models | [`multiclass`] |
//! | §11 numerics | [`normal`], [`error`] |
//!
//! # Names
//!
//! - `f(…)` runs with default options and `f_with(…, &options)` is the
//!   same call with an options struct as its last argument:
//!   [`minimal_perturbation_with`], [`minimal_perturbations_with`],
//!   [`Gmm::robust_optimum_with`], [`Gmm::robust_sweep_with`].
//! - `f_report(…)` returns the result together with the evidence of how it
//!   was obtained: [`Gmm::fit_report`] gives a [`FitReport`],
//!   [`empirical::adversarial_training_report`] a
//!   [`TrainingReport`](empirical::TrainingReport), and
//!   [`tradeoff::pair_report`] a [`TradeoffReport`].
//! - Options structs ([`AttackOptions`], [`SolverOptions`],
//!   [`TrainingOptions`](empirical::TrainingOptions),
//!   [`OrthantOptions`](normal::OrthantOptions)) are `#[non_exhaustive]`:
//!   start from `Default` and set fields with their `with_…` methods; the
//!   function that takes them checks them and names a bad one in its error.
//!   ```
//!   use manifold_robustness::{default_model, SolverOptions, Threat};
//!
//!   let gmm = default_model();
//!   let options = SolverOptions::default().with_gap_tolerance(1e-6);
//!   let opt = gmm.robust_optimum_with(&Threat::linf(), 0.01, &options)?;
//!   assert!(opt.gap() <= 1e-6 * opt.distance());
//!   # Ok::<(), manifold_robustness::Error>(())
//!   ```
//! - A target optimal robust error is called `target_robust_error`
//!   wherever it is an argument ([`tradeoff::matched_budget`],
//!   [`tradeoff::matched_optimum`], [`tradeoff::conflict_matrix`]).
//!
//! # Features
//!
//! - `proptest`: the `strategies` module, proptest strategies for
//!   covariances, models, threats, budgets and points near a boundary, to
//!   property-test claims the way the crate tests its own.
//! - `serde`: `Serialize`/`Deserialize` for labels, classifiers,
//!   covariances, models, threats, fits, the options and the results;
//!   deserializing validates as the constructors do.
//!
//! # Parallelism
//!
//! The large dense steps (the eigendecomposition from `d = 384`, pooled
//! covariances in fits, matrix–vector passes over more than about 2 MB)
//! run on rayon's current thread pool, so `RAYON_NUM_THREADS` or
//! `ThreadPool::install` decide how many threads they use; smaller ones
//! run serially, where threads cost more than they save.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub use nalgebra;
/// The `rand` this crate is built with (0.9): use `manifold_robustness::rand` for
/// the random number generators you pass in, so versions always match.
pub use rand;

pub mod attack;
pub mod classifier;
pub mod covariance;
pub mod datasets;
pub mod default_model;
pub mod disentangle;
mod display;
pub mod empirical;
pub mod error;
pub mod fit;
pub mod gmm;
mod linalg;
pub mod multiclass;
pub mod normal;
pub mod robust;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod theory;
pub mod threat;
pub mod tradeoff;
pub mod training;

mod roots;
mod sampling;
mod seeded;
#[cfg(feature = "serde")]
mod serialization;

pub use attack::{
    AttackOptions, BatchAttack, EnergyProfile, Perturbation, energy_profile, minimal_perturbation,
    minimal_perturbation_with, minimal_perturbations, minimal_perturbations_with,
};
pub use classifier::{Label, LinearClassifier};
pub use covariance::{Covariance, EigenCoordinates, Representation};
pub use default_model::default_model;
pub use disentangle::{AttackEnergySummary, attack_energy_summary};
pub use error::{Error, Result};
pub use fit::{Fit, FitReport};
pub use gmm::Gmm;
pub use multiclass::{MulticlassClassifier, MulticlassGmm};
pub use threat::{SpectralFamily, Threat};
pub use tradeoff::{ConflictMatrix, TradeoffReport};
pub use training::{ExtendedCovariance, GrowthBasis, RobustOptimum, SolverOptions};

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
