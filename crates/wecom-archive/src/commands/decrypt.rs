//! `decrypt`: the diagnosis tool for 10006/10008 — decrypts one record by hand and names the step
//! that fails and the key versions tried.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use wecom_crypto::decrypt_data;
use wecom_daemon::config::Config;
use wecom_wire::ChatDataItem;

use crate::cli::DecryptArgs;
use crate::keys::read_key_dir;

pub fn run(
    config_path: &Path,
    env: &HashMap<String, String>,
    corp: Option<&str>,
    args: &DecryptArgs,
) -> anyhow::Result<ExitCode> {
    if let (Some(k), Some(m)) = (&args.encrypt_key, &args.encrypt_msg) {
        return Ok(report_decrypt_data(k.as_bytes(), m.as_bytes()));
    }
    let Some(file) = &args.chatdata else {
        anyhow::bail!("give --encrypt-key and --encrypt-msg, or --chatdata FILE");
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let item: ChatDataItem = serde_json::from_str(&text).with_context(|| {
        format!("{} is not one chatdata item (seq, msgid, publickey_ver, encrypt_random_key, encrypt_chat_msg)", file.display())
    })?;
    let config = Config::load(config_path, env)?;
    let corp = config.corp(corp)?;
    let keys = read_key_dir(&corp.keys_dir)?;
    println!(
        "record seq {} msgid {} publickey_ver {}",
        item.seq, item.msgid, item.publickey_ver
    );
    let ciphertext = match base64::engine::general_purpose::STANDARD
        .decode(item.encrypt_random_key.trim())
    {
        Ok(c) => c,
        Err(e) => {
            println!(
                "step 1 (base64 of encrypt_random_key) failed: {e} — the field is damaged (code 10006)"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some(own) = keys.iter().find(|k| k.version == item.publickey_ver) else {
        let have: Vec<String> = keys.iter().map(|k| k.version.to_string()).collect();
        println!(
            "step 2 (RSA): no private key for version {} in {} (have: {}) — code 10007; add it with `keys add --version {}`",
            item.publickey_ver,
            corp.keys_dir.display(),
            if have.is_empty() {
                "none".to_owned()
            } else {
                have.join(", ")
            },
            item.publickey_ver
        );
        return Ok(ExitCode::FAILURE);
    };
    println!(
        "step 2 (RSA PKCS#1 v1.5): trying key version {} ({})",
        own.version,
        own.path.display()
    );
    match own.key.decrypt_pkcs1(&ciphertext) {
        Ok(encrypt_key) => {
            println!("step 2 ok: encrypt_key is {} bytes", encrypt_key.len());
            Ok(report_decrypt_data(
                &encrypt_key,
                item.encrypt_chat_msg.as_bytes(),
            ))
        }
        Err(_) => {
            println!(
                "step 2 failed: key version {} cannot decrypt encrypt_random_key (wrong key or wrong version; code 10006)",
                own.version
            );
            for other in keys.iter().filter(|k| k.version != item.publickey_ver) {
                if let Ok(k) = other.key.decrypt_pkcs1(&ciphertext)
                    && decrypt_data(&k, item.encrypt_chat_msg.as_bytes()).is_ok()
                {
                    println!(
                        "note: key version {} ({}) decrypts this record — that file is stored under the wrong version",
                        other.version,
                        other.path.display()
                    );
                }
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn report_decrypt_data(encrypt_key: &[u8], encrypt_msg: &[u8]) -> ExitCode {
    match decrypt_data(encrypt_key, encrypt_msg) {
        Ok(plaintext) => {
            println!("{}", String::from_utf8_lossy(&plaintext));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "DecryptData failed with code {}: {}",
                e.code.code(),
                e.step.describe()
            );
            ExitCode::FAILURE
        }
    }
}
