//! The bundled UCI handwritten digits: shape, class counts, pixel range and
//! checksum against the values scikit-learn reports for its copy
//! (`load_digits()`: 1797 × 64, `bincount(target)`, `data.sum()`), and the
//! two-class and split helpers.

use manifold_robustness::datasets::{self, Digits};
use manifold_robustness::empirical::{self, TrainingOptions};
use manifold_robustness::{Error, Label, Threat};

/// `numpy.bincount(load_digits().target)`; also the UCI test-set counts.
const CLASS_COUNTS: [usize; 10] = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];

#[test]
fn digits_have_the_known_shape_counts_and_pixels() {
    let digits = datasets::digits().unwrap();
    assert_eq!(digits.len(), 1797);
    assert_eq!(digits.images().shape(), (1797, Digits::PIXELS));
    assert_eq!(digits.class_counts(), CLASS_COUNTS);
    let pixels = digits.images();
    assert!(
        pixels
            .iter()
            .all(|&p| p == p.round() && (0.0..=16.0).contains(&p))
    );
    assert_eq!(pixels.min(), 0.0);
    assert_eq!(pixels.max(), Digits::MAX_PIXEL);
    // load_digits().data.sum()
    assert_eq!(pixels.sum(), 561_718.0);
    // The first image (a zero), row-major, as in the first line of the file.
    let first: Vec<f64> = pixels.row(0).iter().copied().collect();
    assert_eq!(
        &first[..16],
        &[
            0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0, 0.0, 0.0, 13.0, 15.0, 10.0, 15.0, 5.0, 0.0
        ]
    );
    assert_eq!(digits.labels()[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

#[test]
fn pair_maps_the_first_digit_to_pos() {
    let digits = datasets::digits().unwrap();
    let (x, y) = digits.pair(1, 7).unwrap();
    assert_eq!(x.nrows(), 182 + 179);
    assert_eq!(x.ncols(), 64);
    assert_eq!(y.iter().filter(|&&l| l == Label::Pos).count(), 182);
    // The first 1 and the first 7 of the file, in file order.
    assert_eq!(x.row(0), digits.images().row(1));
    assert_eq!(y[0], Label::Pos);
    assert_eq!(x.row(1), digits.images().row(7));
    assert_eq!(y[1], Label::Neg);
    assert!(matches!(
        digits.pair(3, 3),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        digits.pair(3, 10),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn split_is_stratified_disjoint_and_reproducible() {
    let digits = datasets::digits().unwrap();
    let (train, test) = digits.train_test_split(0.7, 42).unwrap();
    assert_eq!(train.len() + test.len(), 1797);
    for (c, &count) in CLASS_COUNTS.iter().enumerate() {
        let expected = (0.7 * count as f64).round() as usize;
        assert_eq!(train.class_counts()[c], expected);
        assert_eq!(test.class_counts()[c], count - expected);
    }
    // Every image lands in exactly one part: the pixel sums add up.
    assert_eq!(
        train.images().sum() + test.images().sum(),
        digits.images().sum()
    );
    assert_eq!(
        digits.train_test_split(0.7, 42).unwrap(),
        (train.clone(), test)
    );
    let (other, _) = digits.train_test_split(0.7, 43).unwrap();
    assert_ne!(other, train);
    for bad in [0.0, 1.0, -0.1, f64::NAN] {
        assert!(matches!(
            digits.train_test_split(bad, 1),
            Err(Error::InvalidParameter { .. })
        ));
    }
}

/// Real data through the training API: 0 against 1 is linearly separable,
/// so unregularized logistic regression has no minimizer; a ridge penalty
/// fixes it, and the classifier separates the held-out images.
#[test]
fn digits_zero_against_one_is_separable() {
    let digits = datasets::digits().unwrap();
    let (train, test) = digits.train_test_split(0.5, 1).unwrap();
    let (x, y) = train.pair(0, 1).unwrap();
    assert_eq!(
        empirical::adversarial_training(&x, &y, &Threat::l2(), 0.0, &TrainingOptions::default()),
        Err(Error::LinearlySeparable { budget: 0.0 })
    );
    let options = TrainingOptions::default().with_l2_penalty(1e-2);
    let clf = empirical::adversarial_training(&x, &y, &Threat::l2(), 0.0, &options).unwrap();
    let (xt, yt) = test.pair(0, 1).unwrap();
    let error = empirical::robust_error(&clf, &Threat::l2(), 0.0, &xt, &yt).unwrap();
    assert!(error < 0.02, "test error {error}");
}
