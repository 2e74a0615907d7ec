//! `core`: the Core API binary (see `core --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cfg = obspec_core_api::Config::from_args();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("core: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(obspec_core_api::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("core: {e}");
            ExitCode::FAILURE
        }
    }
}
