//! `oven`: the example service with its own spec (see `oven --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cfg = obspec_example_own_spec::Config::from_args();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oven: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(obspec_example_own_spec::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oven: {e}");
            ExitCode::FAILURE
        }
    }
}
