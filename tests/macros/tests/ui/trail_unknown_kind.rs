#[derive(obspec_macros::TrailData)]
#[trail(kind = "office.tool_cal")]
struct Call {
    tool: &'static str,
}

fn main() {}
