#[derive(obspec_macros::ErrorToken)]
enum MyErr {
    #[token(NOT_FOUND)]
    Missing,
    Busy,
}

fn main() {
    let _ = MyErr::Missing.error_token();
    let _ = MyErr::Busy;
}
