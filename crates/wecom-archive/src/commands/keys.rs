//! `keys list` and `keys add`.

use std::process::ExitCode;

use anyhow::bail;
use wecom_daemon::config::CorpConfig;

use crate::cli::KeysCommand;
use crate::keys::{read_key_dir, read_private_key, write_key};

pub fn run(corp: &CorpConfig, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::List => {
            let keys = read_key_dir(&corp.keys_dir)?;
            if keys.is_empty() {
                println!("no keys in {}", corp.keys_dir.display());
            }
            for k in keys {
                println!(
                    "version {:<4} RSA-{}  public key sha256:{}  {}",
                    k.version,
                    k.key.bits(),
                    k.key.public_key().fingerprint(),
                    k.path.display()
                );
            }
        }
        KeysCommand::Add { version, file } => {
            let key = read_private_key(&file)?;
            if key.bits() < 2048 {
                bail!(
                    "key file {} holds an RSA-{} key; WeCom uses RSA-2048",
                    file.display(),
                    key.bits()
                );
            }
            if let Some(existing) = read_key_dir(&corp.keys_dir)?
                .into_iter()
                .find(|k| k.version == version)
            {
                if existing.key.public_key().fingerprint() == key.public_key().fingerprint() {
                    println!(
                        "version {version} already has this key ({})",
                        existing.path.display()
                    );
                    return Ok(ExitCode::SUCCESS);
                }
                bail!(
                    "version {version} already has a different key ({}); keys are never replaced — remove it by hand if it is wrong",
                    existing.path.display()
                );
            }
            let path = write_key(&corp.keys_dir, version, &key)?;
            println!("added key version {version} → {}", path.display());
            println!("run `wecom-archive redecrypt` to decrypt records that failed for lack of it");
        }
    }
    Ok(ExitCode::SUCCESS)
}
