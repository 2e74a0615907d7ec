//! `cargo xtask`: project automation (see ARCHITECTURE.md).
fn main() {}
