//! Placeholder until the HTTP stack benchmark lands.
fn main() {}
