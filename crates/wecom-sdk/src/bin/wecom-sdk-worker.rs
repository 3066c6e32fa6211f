//! The worker process on its own, for this crate's tests (the archive binary runs the same
//! `worker_main` as its hidden `sdk-worker` subcommand).

fn main() -> std::process::ExitCode {
    wecom_sdk::worker_main()
}
