#[derive(obspec_macros::LogEvent)]
struct Leaky<'a> {
    route: &'static str,
    payload: &'a str,
    user_email: String,
}

fn main() {}
