#[derive(obspec_macros::TrailData)]
#[trail(kind = "office.tool_call")]
struct Call {
    tool: &'static str,
    arg_count: u64,
    args: Vec<String>,
}

fn main() {}
