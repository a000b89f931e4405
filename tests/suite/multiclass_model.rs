//! THEORY §12: the multi-class model — fitting shares the two-class
//! estimators, sampling follows the priors, and bad input gets a typed
//! error naming the argument.

use manifold_robustness::nalgebra::{DMatrix, DVector};
use manifold_robustness::rand::{SeedableRng, rngs::StdRng};
use manifold_robustness::{
    Covariance, Error, Fit, Gmm, Label, MulticlassClassifier, MulticlassGmm, Threat, multiclass,
};

fn three_classes() -> MulticlassGmm {
    MulticlassGmm::new(
        vec![
            DVector::from_vec(vec![2.0, 0.0, 0.0]),
            DVector::from_vec(vec![0.0, 2.0, 0.0]),
            DVector::from_vec(vec![0.0, 0.0, 2.0]),
        ],
        Covariance::diagonal(DVector::from_vec(vec![1.0, 2.0, 0.5])).unwrap(),
        DVector::from_vec(vec![0.2, 0.3, 0.5]),
    )
    .unwrap()
}

#[test]
fn two_classes_fit_exactly_as_the_two_class_model() {
    let gmm = manifold_robustness::default_model();
    let (x, labels) = gmm.sample(500, &mut StdRng::seed_from_u64(3));
    let classes: Vec<usize> = labels
        .iter()
        .map(|&l| usize::from(l == Label::Pos))
        .collect();
    for fit in [Fit::LedoitWolf, Fit::Ppca { rank: 5 }] {
        let two = Gmm::fit(&x, &labels, fit).unwrap();
        let multi = MulticlassGmm::fit(&x, &classes, fit).unwrap();
        // The same pooled moments and decomposition: identical numbers.
        assert_eq!(multi.mean(1), two.mean(Label::Pos));
        assert_eq!(multi.mean(0), two.mean(Label::Neg));
        assert_eq!(multi.priors()[1], two.prior_pos());
        assert_eq!(
            multi.covariance().eigenvalues(),
            two.covariance().eigenvalues()
        );
    }
}

#[test]
fn fit_recovers_the_model_from_its_samples() {
    let m = three_classes();
    let n = 40_000;
    let (x, y) = m.sample(n, &mut StdRng::seed_from_u64(11));
    let fitted = MulticlassGmm::fit(&x, &y, Fit::Pooled).unwrap();
    assert_eq!(fitted.classes(), 3);
    for k in 0..3 {
        // Prior: binomial standard error √(π(1 − π)/n) ≤ 0.0025; 5σ.
        let p = m.priors()[k];
        assert!((fitted.priors()[k] - p).abs() <= 5.0 * (p * (1.0 - p) / n as f64).sqrt());
        // Mean: standard error √(λ_max/(π_k n)) ≤ 0.016; 5σ.
        let se = (2.0 / (p * n as f64)).sqrt();
        assert!((fitted.mean(k) - m.mean(k)).amax() <= 5.0 * se, "class {k}");
    }
    // Pooled variances: relative standard error √(2/n) ≈ 0.007; 5σ.
    let got = fitted.covariance().eigenvalues();
    for (g, e) in got.iter().zip([2.0, 1.0, 0.5]) {
        assert!(
            (g / e - 1.0).abs() <= 5.0 * (2.0 / n as f64).sqrt(),
            "{g} vs {e}"
        );
    }
}

#[test]
fn sampling_follows_the_priors_and_is_reproducible() {
    let m = three_classes();
    let n = 30_000;
    let (x, y) = m.sample(n, &mut StdRng::seed_from_u64(5));
    assert_eq!(x.shape(), (n, 3));
    for k in 0..3 {
        let count = y.iter().filter(|&&l| l == k).count() as f64 / n as f64;
        let p = m.priors()[k];
        assert!((count - p).abs() <= 5.0 * (p * (1.0 - p) / n as f64).sqrt());
    }
    assert_eq!(m.sample(n, &mut StdRng::seed_from_u64(5)).1, y);
}

#[test]
fn bad_models_are_typed_errors() {
    let cov = Covariance::isotropic(2, 1.0).unwrap();
    let a = DVector::from_vec(vec![1.0, 0.0]);
    let b = DVector::from_vec(vec![0.0, 1.0]);
    // K < 2.
    assert!(matches!(
        MulticlassGmm::new(vec![a.clone()], cov.clone(), DVector::from_element(1, 1.0)),
        Err(Error::NotEnoughSamples {
            name: "classes",
            needed: 2,
            found: 1
        })
    ));
    // Priors not summing to one (tolerance 1e-12), or not probabilities.
    let err = MulticlassGmm::new(
        vec![a.clone(), b.clone()],
        cov.clone(),
        DVector::from_vec(vec![0.5, 0.5 + 1e-9]),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { name: "priors", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("sum to 1"), "{err}");
    assert!(
        MulticlassGmm::new(
            vec![a.clone(), b.clone()],
            cov.clone(),
            DVector::from_vec(vec![0.5, 0.5 + 1e-13]),
        )
        .is_ok()
    );
    assert!(matches!(
        MulticlassGmm::new(
            vec![a.clone(), b.clone()],
            cov.clone(),
            DVector::from_vec(vec![1.0, 0.0])
        ),
        Err(Error::InvalidProbability { name: "priors", .. })
    ));
    // Dimension mismatches.
    assert!(matches!(
        MulticlassGmm::new(
            vec![a.clone(), DVector::zeros(3)],
            cov.clone(),
            DVector::from_element(2, 0.5)
        ),
        Err(Error::DimensionMismatch {
            name: "means",
            expected: 2,
            found: 3
        })
    ));
    assert!(matches!(
        MulticlassGmm::new(
            vec![a.clone(), b.clone()],
            cov.clone(),
            DVector::from_element(3, 1.0 / 3.0)
        ),
        Err(Error::DimensionMismatch {
            name: "priors",
            expected: 2,
            found: 3
        })
    ));
    assert_eq!(
        MulticlassGmm::new(
            vec![a.clone(), b.clone(), a.clone()],
            cov,
            DVector::from_element(3, 1.0 / 3.0)
        )
        .unwrap_err(),
        Error::IdenticalRows {
            name: "means",
            first: 0,
            second: 2
        }
    );
}

#[test]
fn bad_fits_are_typed_errors() {
    let x = DMatrix::from_fn(8, 2, |i, j| (i * 3 + j * 5 % 7) as f64);
    // A class without samples: labels 0 and 2 only.
    assert_eq!(
        MulticlassGmm::fit(&x, &[0, 0, 0, 0, 2, 2, 2, 2], Fit::LedoitWolf).unwrap_err(),
        Error::EmptyClass {
            class: 1,
            classes: 3
        }
    );
    assert!(matches!(
        MulticlassGmm::fit(&x, &[0; 8], Fit::LedoitWolf),
        Err(Error::NotEnoughSamples {
            name: "classes",
            ..
        })
    ));
    assert!(matches!(
        MulticlassGmm::fit(&x, &[0, 1, 2], Fit::LedoitWolf),
        Err(Error::DimensionMismatch {
            expected: 8,
            found: 3,
            ..
        })
    ));
    assert!(matches!(
        MulticlassGmm::fit(&x, &[], Fit::LedoitWolf),
        Err(Error::Empty { name: "labels" })
    ));
    // Four classes need at least five samples.
    let small = x.rows(0, 4).into_owned();
    assert!(matches!(
        MulticlassGmm::fit(&small, &[0, 1, 2, 3], Fit::LedoitWolf),
        Err(Error::NotEnoughSamples {
            needed: 5,
            found: 4,
            ..
        })
    ));
}

#[test]
fn bad_classifier_input_is_a_typed_error() {
    let m = three_classes();
    let clf = m.bayes_classifier();
    let (x, mut y) = m.sample(4, &mut StdRng::seed_from_u64(1));
    // Labels out of range.
    y[2] = 3;
    assert_eq!(
        clf.sample_error(&x, &y).unwrap_err(),
        Error::LabelOutOfRange {
            name: "labels",
            index: 2,
            label: 3,
            classes: 3
        }
    );
    // A classifier of another dimension or number of classes.
    let other = MulticlassClassifier::new(DMatrix::identity(2, 2), DVector::zeros(2)).unwrap();
    assert!(matches!(
        m.error(&other),
        Err(Error::DimensionMismatch {
            name: "classifier",
            expected: 3,
            found: 2
        })
    ));
    let four = MulticlassClassifier::new(
        DMatrix::from_fn(4, 3, |i, j| (i * j) as f64 + i as f64),
        DVector::zeros(4),
    )
    .unwrap();
    assert!(matches!(
        m.robust_error(&four, &Threat::l2(), 0.1),
        Err(Error::DimensionMismatch {
            name: "classifier (classes)",
            expected: 3,
            found: 4
        })
    ));
    assert!(matches!(
        m.robust_error(&clf, &Threat::l2(), -1.0),
        Err(Error::InvalidBudget { .. })
    ));
    let wrong_threat = Threat::generative(&Covariance::isotropic(2, 1.0).unwrap());
    assert!(matches!(
        multiclass::minimal_perturbation(&clf, &wrong_threat, m.mean(0), 0),
        Err(Error::DimensionMismatch { name: "threat", .. })
    ));
    assert!(matches!(
        multiclass::minimal_perturbation(&clf, &Threat::l2(), &DVector::zeros(2), 0),
        Err(Error::DimensionMismatch { name: "point", .. })
    ));
}

#[test]
fn awkward_scales_change_nothing() {
    // Data scaled by 2^-400 (and the ℓ2 budget with them): the Bayes rule,
    // its attacks and errors are those of the unscaled model.
    let m = three_classes();
    let s = 2f64.powi(-400);
    let small = MulticlassGmm::new(
        m.means().iter().map(|v| v * s).collect(),
        Covariance::diagonal(DVector::from_vec(vec![s * s, 2.0 * s * s, 0.5 * s * s])).unwrap(),
        m.priors().clone(),
    )
    .unwrap();
    let (clf, clf_small) = (m.bayes_classifier(), small.bayes_classifier());
    let e = m.robust_error(&clf, &Threat::l2(), 0.3).unwrap().value();
    let e_small = small
        .robust_error(&clf_small, &Threat::l2(), 0.3 * s)
        .unwrap()
        .value();
    assert!((e - e_small).abs() <= 1e-13 * e, "{e} vs {e_small}");
    let x = DVector::from_vec(vec![1.5, 0.2, -0.1]);
    let t = multiclass::minimal_perturbation(&clf, &Threat::linf(), &x, 0).unwrap();
    let t_small =
        multiclass::minimal_perturbation(&clf_small, &Threat::linf(), &(&x * s), 0).unwrap();
    assert_eq!(t.to(), t_small.to());
    assert!((t.budget() * s - t_small.budget()).abs() <= 1e-14 * t_small.budget());
}
