//! The public surface: options built from `Default` with `with_…` methods
//! reach the functions that take them, eigen-coordinates read back through
//! their accessors, and sampling accepts any `Rng`, trait objects included.

use manifold_robustness::empirical::TrainingOptions;
use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::rand::{RngCore, SeedableRng, rngs::StdRng};
use manifold_robustness::{AttackOptions, Covariance, Error, Gmm, SolverOptions, Threat};
use proptest::prelude::*;

use crate::common::{spiked_covariance, tol, vector};

/// Each builder sets its own field and leaves every other one at its default.
#[test]
fn builders_set_exactly_their_field() {
    let solver = SolverOptions::default();
    let set = SolverOptions::default().with_gap_tolerance(0.25);
    assert_eq!(set.gap_tolerance, 0.25);
    assert_eq!(set.max_iterations, solver.max_iterations);
    let set = SolverOptions::default().with_max_iterations(7);
    assert_eq!(set.max_iterations, 7);
    assert_eq!(set.gap_tolerance, solver.gap_tolerance);

    let training = TrainingOptions::default();
    let set = TrainingOptions::default().with_l2_penalty(0.5);
    assert_eq!(
        (set.l2_penalty, set.gradient_tolerance),
        (0.5, training.gradient_tolerance)
    );
    assert_eq!(
        (set.max_iterations, set.fit_bias),
        (training.max_iterations, training.fit_bias)
    );
    let set = TrainingOptions::default().with_gradient_tolerance(1e-3);
    assert_eq!(
        (set.l2_penalty, set.gradient_tolerance),
        (training.l2_penalty, 1e-3)
    );
    let set = TrainingOptions::default().with_max_iterations(3);
    assert_eq!((set.max_iterations, set.fit_bias), (3, training.fit_bias));
    let set = TrainingOptions::default().with_fit_bias(false);
    assert_eq!(
        (set.max_iterations, set.fit_bias),
        (training.max_iterations, false)
    );

    assert_eq!(AttackOptions::default().with_overshoot(0.5).overshoot, 0.5);
}

/// `robust_sweep_with` passes its options to the dual solver: with no
/// iteration allowed it reports the cap, and with a loose target it returns,
/// budget by budget, what `robust_optimum_with` returns with the same options.
#[test]
fn robust_sweep_with_uses_its_options() {
    // A dense Σ, where the ℓ∞ start clip(μ, ε) is not already optimal.
    let cov = Covariance::dense(DMatrix::from_row_slice(2, 2, &[2.0, 0.9, 0.9, 1.0])).unwrap();
    let gmm = Gmm::symmetric(DVector::from_vec(vec![1.0, 0.2]), cov).unwrap();
    let linf = Threat::linf();
    let none = SolverOptions::default().with_max_iterations(0);
    assert!(matches!(
        gmm.robust_sweep_with(&linf, &[0.3], &none),
        Err(Error::NoConvergence { iterations: 0, .. })
    ));
    let loose = SolverOptions::default().with_gap_tolerance(1e-3);
    let budgets = [0.3, 0.1, 0.2];
    let sweep = gmm.robust_sweep_with(&linf, &budgets, &loose).unwrap();
    for (opt, &eps) in sweep.iter().zip(&budgets) {
        let single = gmm.robust_optimum_with(&linf, eps, &loose).unwrap();
        assert_eq!(opt.budget(), eps);
        assert_eq!(opt.distance(), single.distance());
        assert_eq!(opt.gap(), single.gap());
        assert!(opt.gap() <= 1e-3 * opt.distance());
    }
}

proptest! {
    /// `v = U·explicit + residual`: the accessors give back the vector.
    #[test]
    fn eigen_coordinates_rebuild_the_vector(
        (cov, v) in (3usize..8).prop_flat_map(|d| (spiked_covariance(d), vector(d)))
    ) {
        let c = cov.eigen_coordinates(&v).unwrap();
        let k = c.explicit().len();
        prop_assert_eq!(k, cov.explicit_directions());
        let residual = c.residual().expect("a spiked covariance has a noise block");
        let basis = cov.leading_basis(k).unwrap();
        let rebuilt = &basis * c.explicit() + residual;
        prop_assert!((rebuilt - &v).amax() <= tol::IDENTITY * v.amax().max(1.0));
        // The residual lies in the noise block: orthogonal to U.
        prop_assert!((basis.tr_mul(residual)).amax() <= tol::IDENTITY * v.amax().max(1.0));
    }
}

/// `sample` takes `R: Rng + ?Sized`: through `&mut dyn RngCore` it draws
/// exactly what the concrete generator draws.
#[test]
fn sampling_accepts_a_trait_object() {
    let gmm = manifold_robustness::default_model();
    let direct = gmm.sample(50, &mut StdRng::seed_from_u64(3));
    let mut boxed: Box<dyn RngCore> = Box::new(StdRng::seed_from_u64(3));
    let dynamic = gmm.sample(50, boxed.as_mut());
    assert_eq!(direct, dynamic);
}
