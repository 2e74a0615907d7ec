#[derive(obspec_macros::ErrorToken)]
enum MyErr {
    #[token(NOT_FOUND)]
    Missing,
    #[token(TOO_BUSY)]
    Busy,
}

fn main() {}
