#[derive(obspec_macros::LogEvent)]
struct Wrong {
    ok: String,
    code: u64,
    latency_ms: f64,
    ts: u64,
}

fn main() {}
