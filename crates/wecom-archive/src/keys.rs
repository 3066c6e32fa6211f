//! The key folder: private keys stored as `v<version>.pem`, loaded into a key ring with errors that
//! name the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use wecom_crypto::{KeyRing, PrivateKey};

/// One key file found in the folder.
pub struct KeyFile {
    pub version: u32,
    pub path: PathBuf,
    pub key: PrivateKey,
}

/// The file that holds the key for `version`.
pub fn key_path(dir: &Path, version: u32) -> PathBuf {
    dir.join(format!("v{version}.pem"))
}

/// The `v<N>.pem` files in `dir` (none when it cannot be read).
pub fn key_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix('v'))
                .and_then(|n| n.strip_suffix(".pem"))
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect();
    files.sort();
    files
}

/// Reads every `v<N>.pem` in `dir`. A file that is not a usable RSA private key is an error naming it.
pub fn read_key_dir(dir: &Path) -> anyhow::Result<Vec<KeyFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read key folder {}", dir.display()));
        }
    };
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read key folder {}", dir.display()))?;
        let path = entry.path();
        let Some(version) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix('v'))
            .and_then(|n| n.strip_suffix(".pem"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let key = read_private_key(&path)?;
        keys.push(KeyFile { version, path, key });
    }
    keys.sort_by_key(|k| k.version);
    Ok(keys)
}

/// Reads and parses one PEM private key.
pub fn read_private_key(path: &Path) -> anyhow::Result<PrivateKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    PrivateKey::from_pem(&pem).with_context(|| {
        format!(
            "key file {} is not a usable RSA private key",
            path.display()
        )
    })
}

/// The key ring of every key in the folder.
pub fn load_key_ring(dir: &Path) -> anyhow::Result<KeyRing> {
    let mut ring = KeyRing::new();
    for k in read_key_dir(dir)? {
        ring.insert(k.version, k.key);
    }
    Ok(ring)
}

/// Writes a private key as `v<version>.pem`, readable by the owner only; never overwrites.
pub fn write_key(dir: &Path, version: u32, key: &PrivateKey) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create key folder {}", dir.display()))?;
    let path = key_path(dir, version);
    if path.exists() {
        bail!(
            "{} already exists: a key for version {version} is present (keys are never overwritten)",
            path.display()
        );
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    use std::io::Write;
    file.write_all(key.to_pkcs8_pem().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
