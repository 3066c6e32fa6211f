//! The worker process: owns the one SDK handle, answers framed requests from stdin on stdout
//! (`protocol.rs`), and dies alone when the vendor library aborts. Also the request handler that
//! the in-process mode runs directly.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::library::Library;
use crate::protocol::{
    DecryptOutput, ErrorKind, PROTOCOL_VERSION, Reply, Request, WireNet, read_frame, write_frame,
};
use crate::sdk::{NetOptions, Sdk, SdkError};

/// Runs one request against the library. One per worker process (or per in-process slot); never
/// shared between threads, like the handle it owns.
#[derive(Default)]
pub(crate) struct Handler {
    lib: Option<Arc<Library>>,
    sdk: Option<Sdk>,
}

impl Handler {
    pub fn handle(&mut self, request: Request) -> Reply {
        match request {
            Request::Open {
                protocol,
                library,
                corp_id,
                secret,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return error(
                        ErrorKind::Protocol,
                        0,
                        format!(
                            "the worker speaks protocol {PROTOCOL_VERSION}, the parent {protocol}: the worker command is another version of the program"
                        ),
                    );
                }
                // A second open replaces the handle (the old one is idle: calls are sequential).
                self.sdk = None;
                let lib = match Library::load(&library) {
                    Ok(lib) => lib,
                    Err(e) => return error(ErrorKind::Library, 0, e.to_string()),
                };
                self.lib = Some(lib.clone());
                match Sdk::new(lib, &corp_id, &secret) {
                    Ok(sdk) => {
                        self.sdk = Some(sdk);
                        Reply::Ready {
                            pid: std::process::id(),
                        }
                    }
                    Err(SdkError::Code(code)) => error(
                        ErrorKind::Library,
                        code.code(),
                        format!("Init of the vendor library failed with {code}"),
                    ),
                    Err(e) => error(ErrorKind::Library, 0, e.to_string()),
                }
            }
            Request::ChatData { seq, limit, net } => {
                let Some(sdk) = self.sdk.as_mut() else {
                    return not_open();
                };
                match sdk.get_chat_data_raw(seq, limit, &net_options(&net)) {
                    Ok(body) => Reply::ChatData { rc: 0, body },
                    Err(SdkError::Code(code)) => Reply::ChatData {
                        rc: code.code(),
                        body: Vec::new(),
                    },
                    Err(e) => sdk_error(e),
                }
            }
            Request::MediaChunk {
                sdkfileid,
                indexbuf,
                net,
            } => {
                let Some(sdk) = self.sdk.as_mut() else {
                    return not_open();
                };
                match sdk.get_media_chunk(&sdkfileid, &indexbuf, &net_options(&net)) {
                    Ok(chunk) => Reply::MediaChunk {
                        rc: 0,
                        data: chunk.data,
                        next_index: chunk.next_index,
                        is_finish: chunk.is_finish,
                    },
                    Err(SdkError::Code(code)) => Reply::MediaChunk {
                        rc: code.code(),
                        data: Vec::new(),
                        next_index: String::new(),
                        is_finish: false,
                    },
                    Err(e) => sdk_error(e),
                }
            }
            Request::Decrypt { items } => {
                let Some(lib) = self.lib.as_ref() else {
                    return not_open();
                };
                let results = items
                    .iter()
                    .map(
                        |item| match lib.decrypt_data(&item.encrypt_key, &item.encrypt_msg) {
                            Ok(output) => DecryptOutput { rc: 0, output },
                            Err(code) => DecryptOutput {
                                rc: code.code(),
                                output: Vec::new(),
                            },
                        },
                    )
                    .collect();
                Reply::Decrypt { results }
            }
        }
    }
}

fn net_options(net: &WireNet) -> NetOptions {
    NetOptions {
        proxy: net.proxy.clone(),
        passwd: net.passwd.clone(),
        timeout: Duration::from_secs(net.timeout_secs),
    }
}

fn error(kind: ErrorKind, code: i32, message: String) -> Reply {
    Reply::Error {
        kind,
        code,
        message,
    }
}

fn not_open() -> Reply {
    error(
        ErrorKind::Protocol,
        0,
        "no library is open (the first request must be a successful open)".to_owned(),
    )
}

fn sdk_error(e: SdkError) -> Reply {
    let kind = match &e {
        SdkError::InvalidArgument(_) => ErrorKind::InvalidArgument,
        SdkError::Null(_) => ErrorKind::Null,
        SdkError::Code(_) | SdkError::Api { .. } | SdkError::InvalidResponse(_) => {
            ErrorKind::InvalidResponse
        }
    };
    error(kind, e.code().code(), e.to_string())
}

/// The worker process's `main`: reads request frames from stdin and writes one reply
/// frame per request on stdout, until stdin closes. Wire it as a hidden subcommand of the binary
/// (`wecom-archive sdk-worker`) and configure [`crate::WorkerCommand`] to run it.
///
/// Before anything else the protocol takes stdout for itself and points file descriptor 1 at
/// stderr, so whatever the vendor library prints cannot corrupt a frame. The process exits when
/// the parent goes away (stdin closes, or it is re-parented while a call hangs).
///
/// Exit codes: 0 after stdin closed, 2 for a broken protocol or pipe, 3 when an `open` request
/// could not load the library (the reply says why), 4 when the parent died.
pub fn worker_main() -> ExitCode {
    let protocol_out = match take_stdout() {
        Ok(file) => file,
        Err(e) => {
            eprintln!("wecom-sdk worker: cannot set up the protocol pipe: {e}");
            return ExitCode::from(2);
        }
    };
    watch_parent();
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::new(protocol_out);
    let mut handler = Handler::default();
    loop {
        let request: Request = match read_frame(&mut input) {
            Ok(Some(request)) => request,
            // The parent closed stdin: recycle or shutdown. Dropping the handler destroys the
            // SDK handle, which is idle now.
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wecom-sdk worker: unreadable request: {e}");
                return ExitCode::from(2);
            }
        };
        let is_open = matches!(request, Request::Open { .. });
        let reply = handler.handle(request);
        let failed_open = is_open && !matches!(reply, Reply::Ready { .. });
        if let Err(e) = write_frame(&mut output, &reply) {
            eprintln!("wecom-sdk worker: cannot answer: {e}");
            return ExitCode::from(2);
        }
        if failed_open {
            return ExitCode::from(3);
        }
    }
}

/// Duplicates stdout for the protocol and points descriptor 1 at stderr.
fn take_stdout() -> std::io::Result<File> {
    let protocol = std::io::stdout().as_fd().try_clone_to_owned()?;
    // SAFETY: dup2 on two descriptors this process owns; it only replaces descriptor 1, whose
    // previous open file lives on in `protocol`.
    let rc = unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(File::from(protocol))
}

/// A thread that ends the process when the parent dies while the main thread is stuck in the
/// library (a hung call never reads stdin again). `PR_SET_PDEATHSIG` is not used: it fires when
/// the spawning *thread* exits, and the parent spawns from short-lived blocking threads.
fn watch_parent() {
    let parent = std::os::unix::process::parent_id();
    let spawned = std::thread::Builder::new()
        .name("parent-watch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                if std::os::unix::process::parent_id() != parent {
                    // SAFETY: _exit ends the process at once, without running the vendor
                    // library's exit handlers while its other thread may be inside it.
                    unsafe { libc::_exit(4) };
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("wecom-sdk worker: cannot watch the parent process: {e}");
    }
}
