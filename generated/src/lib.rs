//! Generated placeholder.
