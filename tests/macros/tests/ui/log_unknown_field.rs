#[derive(obspec_macros::LogEvent)]
struct Unknown {
    ok: bool,
    duration: u64,
}

fn main() {}
