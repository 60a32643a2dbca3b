//! `tinhso`: the one binary of the platform.
//!
//! Every subcommand reads the same typed configuration (defaults → `--config` file →
//! `TINHSO_*__*` environment → command-line flags) and talks to the same services the web
//! server uses, so whatever an administrator does here is validated and audited exactly as
//! in the browser.

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lỗi / error: {e}");
            ExitCode::FAILURE
        }
    }
}
