//! Checks that the shared strategies produce valid models.
use crate::common;

use proptest::prelude::*;

proptest! {
    #[test]
    fn strategies_produce_valid_models(gmm in common::symmetric_model()) {
        prop_assert!(gmm.bayes_error() > 0.0 && gmm.bayes_error() < 0.5);
    }
}
