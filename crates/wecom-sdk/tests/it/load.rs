//! A library or worker that cannot work is reported in plain words, at construction or at
//! `start`, and never takes the parent down.

use std::path::{Path, PathBuf};

use wecom_sdk::{
    Library, LoadError, SdkConfig, SdkErrorKind, SdkSource, WorkerCommand, WorkerMode,
    check_library_file,
};

use crate::support::{real_sdk, worker_command};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wecom-sdk-it-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn config(library: &Path, command: WorkerCommand) -> SdkConfig {
    SdkConfig::new(library, "ww1", "secret", WorkerMode::Process(command))
}

/// A 64-byte ELF header of a shared library for `machine`.
fn elf_header(machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = 1;
    h[6] = 1;
    h[16..18].copy_from_slice(&3u16.to_le_bytes());
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h
}

#[test]
fn wrong_files_are_named_before_any_worker_starts() {
    let dir = temp_dir("files");
    let missing = dir.join("libWeWorkFinanceSdk_C.so");
    let e = SdkSource::new(config(&missing, worker_command())).expect_err("missing");
    assert_eq!(e.kind(), &SdkErrorKind::Library);
    assert!(e.message().contains("does not exist"), "{e}");

    let html = dir.join("html.so");
    std::fs::write(&html, "<!DOCTYPE html><title>404</title>").expect("write");
    let e = SdkSource::new(config(&html, worker_command())).expect_err("html");
    assert!(e.message().contains("an HTML or XML page"), "{e}");

    let other = if std::env::consts::ARCH == "aarch64" {
        62
    } else {
        183
    };
    let foreign = dir.join("foreign.so");
    std::fs::write(&foreign, elf_header(other)).expect("write");
    let e = check_library_file(&foreign).expect_err("foreign");
    assert!(matches!(e, LoadError::WrongArchitecture { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("built for") && text.contains(std::env::consts::ARCH),
        "{text}"
    );

    let e = SdkSource::new(SdkConfig::new(
        "/dev/null",
        "ww1",
        "",
        WorkerMode::Process(worker_command()),
    ))
    .expect_err("no secret");
    assert_eq!(e.kind(), &SdkErrorKind::InvalidArgument, "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_without_the_exports_and_broken_workers_are_reported_at_start() {
    // A genuine shared library of this machine that is not the vendor's: the worker loads it,
    // finds no NewSdk, says so and exits.
    let libm = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6",
        "/usr/lib64/libm.so.6",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.exists());
    let Some(libm) = libm else {
        eprintln!("no libm.so.6 found; skipping the missing-symbol case");
        return;
    };
    let source = SdkSource::new(config(libm, worker_command())).expect("an ELF library");
    let e = source.start().await.expect_err("no NewSdk");
    assert_eq!(e.kind(), &SdkErrorKind::Library);
    assert!(e.message().contains("does not export NewSdk"), "{e}");
    assert!(!e.is_retryable());
    assert_eq!(source.stats().crashes, 0, "a refusal is not a crash");

    // Loading in this process gives the same answer.
    let e = Library::load(libm).expect_err("no NewSdk");
    assert!(
        matches!(
            e,
            LoadError::MissingSymbol {
                symbol: "NewSdk",
                ..
            }
        ),
        "{e:?}"
    );

    // A worker command that is not a worker: it echoes our request back.
    let cat = SdkSource::new(config(
        libm,
        WorkerCommand::new("cat", Vec::<String>::new()),
    ))
    .expect("source");
    let e = cat.start().await.expect_err("cat is no worker");
    assert!(
        e.message().contains("does not speak the worker protocol"),
        "{e}"
    );
    // A program that does not exist.
    let none = SdkSource::new(config(
        libm,
        WorkerCommand::new("/nonexistent/wecom-archive", ["sdk-worker"]),
    ))
    .expect("source");
    let e = none.start().await.expect_err("no program");
    assert_eq!(e.kind(), &SdkErrorKind::Worker);
    assert!(
        e.message()
            .contains("cannot start the worker /nonexistent/wecom-archive"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_genuine_library_loads_and_initialises() {
    let Some(library) = real_sdk("the_genuine_library_loads_and_initialises") else {
        return;
    };
    // In this process: all 17 exports bind, and Init needs no network.
    let lib = Library::load(&library).expect("load");
    let sdk = wecom_sdk::Sdk::new(lib.clone(), "ww1", "secret").expect("init");
    drop(sdk);
    assert_eq!(
        lib.decrypt_data("é".as_bytes(), b"0123456789012345"),
        Err(wecom_wire::SdkCode::InvalidArgument),
        "non-ascii input never reaches the library"
    );
    let source = SdkSource::new(config(&library, worker_command())).expect("source");
    source.start().await.expect("worker starts");
    assert_eq!(source.stats().workers_started, 1);
    source.shutdown().await;
    let e = source.fetch_chat_data(0, 1).await.expect_err("shut down");
    assert_eq!(e.kind(), &SdkErrorKind::ShutDown);
}
