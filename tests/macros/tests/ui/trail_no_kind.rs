#[derive(obspec_macros::TrailData)]
struct Call {
    tool: &'static str,
}

fn main() {}
