//! End-to-end tests of the `wecom-archive` binary: each starts a real emulator on a loopback port and
//! runs the real binary against it, then checks the archive against the emulator's ground truth.

mod support;

mod bench_api;
mod bounds;
mod cli;
mod daemon;
mod faults;
mod files;
mod hostile;
mod media;
mod migrate;
mod names;
mod pipeline;
mod search;
mod users;
mod wrong_key;
