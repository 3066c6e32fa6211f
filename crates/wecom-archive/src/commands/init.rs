//! `init`: a fresh key pair and a commented configuration for a real corp.

use std::process::ExitCode;

use anyhow::{Context, bail};
use wecom_crypto::PrivateKey;
use wecom_daemon::config::{ConfigFile, CorpSection};

use crate::cli::InitArgs;
use crate::keys::write_key;

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let config_path = args.dir.join("wecom-archive.toml");
    if config_path.exists() {
        bail!(
            "{} already exists; init never overwrites a configuration",
            config_path.display()
        );
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let key = PrivateKey::generate_rsa2048().context("cannot generate an RSA-2048 key")?;
    let keys_dir = args.dir.join("keys");
    let key_path = write_key(&keys_dir, args.key_version, &key)?;
    let corp_id = args
        .corp_id
        .as_deref()
        .unwrap_or("ww_REPLACE_WITH_YOUR_CORP_ID");
    let text = ConfigFile::new(CorpSection::new(corp_id)).render_template()?;
    // Secrets go into it: readable by the owner only.
    crate::files::write_private(&config_path, &text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    println!(
        "wrote {} and private key {}",
        config_path.display(),
        key_path.display()
    );
    println!();
    println!("Paste this public key into 管理后台 → 管理工具 → 会话内容存档 → 消息加密公钥:");
    println!();
    print!("{}", key.public_key().to_pem());
    println!();
    println!("Then:");
    println!(
        "  1. note the key version the console shows; if it is not {v}, rename keys/v{v}.pem to match",
        v = args.key_version
    );
    println!("  2. add this machine's public IP to 可信IP, and copy the 会话内容存档 Secret");
    println!(
        "  3. set corp_id in {} and export WECOM_ARCHIVE_SECRET=<secret>",
        config_path.display()
    );
    println!(
        "  4. run `wecom-archive --config {} sync`",
        config_path.display()
    );
    println!("Back up keys/: without the private key, archived records can never be decrypted.");
    Ok(ExitCode::SUCCESS)
}
