//! Integration tests of wecom-blob: the conformance suite on both backends, then what only one
//! backend does. The S3 backend talks to an in-process `s3s-fs` server on loopback.

mod fs;
mod s3;
mod s3_server;

/// Lists every file below `dir` as paths relative to `base` with `/` separators, sorted.
pub fn files_below(base: &std::path::Path, dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(base) {
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
    found
}
