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
//! # Parallelism
//!
//! The large dense steps (the eigendecomposition from `d = 384`, pooled
//! covariances in fits, matrix–vector passes over more than about 2 MB)
//! run on rayon's current thread pool, so `RAYON_NUM_THREADS` or
//! `ThreadPool::install` decide how many threads they use; smaller ones
//! run serially, where threads cost more than they save.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

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
pub mod theory;
pub mod threat;
pub mod tradeoff;
pub mod training;

mod roots;
mod sampling;

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
