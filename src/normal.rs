//! Standard normal functions.
