//! The integration tests, one binary: a module per THEORY section (built
//! and linked once).

#[macro_use]
mod common;

mod attacks;
mod certificates;
mod digits;
mod direction_reference;
mod directions;
mod disentangling;
mod display;
mod distance_law;
mod ergonomics;
mod finite_samples;
mod fit;
mod foundation;
mod general_models;
mod invariances_threats;
mod multiclass;
mod multiclass_attacks;
mod multiclass_common;
mod multiclass_model;
mod multiclass_robust;
mod normal;
mod orthant;
mod readme;
mod robustness;
#[cfg(feature = "serde")]
mod serialization;
mod smoke_common;
mod surface;
mod tradeoff;
mod training;
mod training_dual;
mod training_samples;
