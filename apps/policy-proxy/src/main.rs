//! `policy-proxy`: the Policy-Proxy binary (see `policy-proxy --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cfg = obspec_policy_proxy::Config::from_args();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("policy-proxy: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(obspec_policy_proxy::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("policy-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}
