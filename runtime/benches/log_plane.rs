//! Log plane benchmarks (filled in below).
fn main() {}
