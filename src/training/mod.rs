//! Adversarial training in the population: the robust-optimal classifier
//! (THEORY §7, P4–P5). STUB: fleshed out by the training module.
#![allow(dead_code)]

pub mod dual;
