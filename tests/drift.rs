//! Drift check placeholder.
