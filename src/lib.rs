//! Closed-form adversarial robustness in two-class Gaussian mixture models.
#![forbid(unsafe_code)]

pub mod normal;
