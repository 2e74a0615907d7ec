//! `office`: the Office room service binary (see `office --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cfg = obspec_office::Config::from_args();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("office: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(obspec_office::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("office: {e}");
            ExitCode::FAILURE
        }
    }
}
