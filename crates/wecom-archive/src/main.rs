//! The `wecom-archive` binary: parses the command line, sets up logging, and runs one command.

mod cli;
mod commands;
mod files;
mod keys;

use clap::Parser;

/// `wecom-archive rooms list | head` closes stdout early; `println!` then panics with "failed
/// printing to stdout: Broken pipe". Like other Unix tools, end quietly with 128 + SIGPIPE instead
/// of a panic message; every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> std::process::ExitCode {
    // The vendor-library worker speaks a framed protocol on stdout: nothing (not even logging) may
    // run before it takes over, so it is dispatched before anything else.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "sdk-worker")
    {
        return wecom_sdk::worker_main();
    }
    // Private until the configuration says otherwise: archives, media, lock and key files, and
    // configurations written with secrets are created 0600 / 0700.
    files::restrict_umask(false);
    quiet_on_closed_stdout();
    let cli = cli::Cli::parse();
    cli::init_tracing(&cli);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // The chain often quotes the server or the configuration: shown escaped.
            eprintln!("error: {}", wecom_wire::text::Escaped(&format!("{e:#}")));
            exit_code_of(&e)
        }
    }
}

/// The documented exit code of a failed command: 4 when another process holds the archive's
/// writer lock, 2 for a search the caller got wrong (query, cursor), 1 otherwise.
fn exit_code_of(e: &anyhow::Error) -> std::process::ExitCode {
    if let Some(lock) = e.downcast_ref::<wecom_store::LockError>()
        && lock.kind() == wecom_store::LockErrorKind::Held
    {
        return std::process::ExitCode::from(commands::EXIT_ARCHIVE_LOCKED);
    }
    if e.downcast_ref::<commands::UsageError>().is_some() {
        return std::process::ExitCode::from(commands::EXIT_USAGE);
    }
    std::process::ExitCode::FAILURE
}
