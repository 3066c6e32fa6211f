//! The `wecom-archive` binary: parses the command line, sets up logging, and runs one command.

mod cli;
mod commands;
mod config;
mod keys;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // The vendor-library worker speaks a framed protocol on stdout: nothing (not even logging) may
    // run before it takes over, so it is dispatched before anything else.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "sdk-worker")
    {
        return wecom_sdk::worker_main();
    }
    let cli = cli::Cli::parse();
    cli::init_tracing(&cli);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
