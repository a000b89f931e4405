//! The integration tests, one binary: a module per THEORY section (built
//! and linked once).

mod common;

mod attacks;
mod digits;
mod directions;
mod disentangling;
mod distance_law;
mod finite_samples;
mod fit;
mod foundation;
mod invariances_threats;
mod normal;
mod smoke_common;
mod tradeoff;
mod training;
mod training_dual;
