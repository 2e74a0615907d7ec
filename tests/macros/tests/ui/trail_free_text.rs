#[derive(obspec_macros::TrailData)]
#[trail(kind = "webhook.delivery_min")]
struct Delivery {
    dest: String,
    state: String,
    attempt: f32,
}

fn main() {}
