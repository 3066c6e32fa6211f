//! `emulator`: the WeCom emulator standalone, with a client configuration written for it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use wecom_crypto::PrivateKey;
use wecom_daemon::config::{ConfigFile, CorpSection};
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig, LiveConfig};

use super::runtime;
use crate::cli::EmulatorArgs;
use crate::keys::write_key;

/// Private keys for the emulator's key versions: version 1, and version 2 when rotating.
pub fn generate_keys(rotate: bool) -> anyhow::Result<Vec<(u32, PrivateKey)>> {
    let versions: &[u32] = if rotate { &[1, 2] } else { &[1] };
    versions
        .iter()
        .map(|&v| {
            Ok((
                v,
                PrivateKey::generate_rsa2048().context("cannot generate an RSA-2048 key")?,
            ))
        })
        .collect()
}

pub fn emulator_config(
    corp_id: &str,
    secret: &str,
    seed: u64,
    messages: usize,
    keys: &[(u32, PrivateKey)],
    rotate_at: Option<u64>,
    live: Option<f64>,
) -> EmulatorConfig {
    let public_keys: BTreeMap<u32, _> = keys.iter().map(|(v, k)| (*v, k.public_key())).collect();
    let mut config = EmulatorConfig::new(recent_corpus(corp_id, seed, messages).0, public_keys);
    config.corp_id = corp_id.to_owned();
    config.secret = secret.to_owned();
    config.rotate_to_v2_after_seq = rotate_at;
    config.token_ttl = Duration::from_secs(7200);
    config.live = live.map(|messages_per_second| LiveConfig {
        messages_per_second,
    });
    config
}

const WEEK_MS: i64 = 7 * 86_400_000;

/// A corpus whose last message is recent, as a live corp's would be (so its media are still inside
/// WeCom's retention window). The generator's clock follows weekdays and working hours, so the
/// default start is moved by whole weeks, which keeps the corpus identical apart from its dates.
/// Returns the spec and the time the corpus spans.
pub fn recent_corpus(corp_id: &str, seed: u64, messages: usize) -> (CorpusSpec, Duration) {
    let mut spec = CorpusSpec {
        corp_id: corp_id.to_owned(),
        ..CorpusSpec::new(seed, messages)
    };
    let probe = wecom_emulator::corpus::generate(&spec);
    let last = probe
        .records
        .last()
        .and_then(|r| wecom_model::parse_envelope(r.plaintext.as_bytes()).ok())
        .map_or(spec.start_ms, |e| e.msgtime);
    let span = (last - spec.start_ms).max(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let weeks = (now - span - spec.start_ms).div_euclid(WEEK_MS).max(0);
    spec.start_ms += weeks * WEEK_MS;
    (spec, Duration::from_millis(span as u64))
}

/// The secrets a client configuration for the emulator carries.
pub struct EmulatorSecrets<'a> {
    pub archive: &'a str,
    pub contacts: Option<&'a str>,
    pub customer: Option<&'a str>,
}

/// A client configuration for an emulator at `base_url`: its corp and secrets, the callback's
/// token and key when the emulator sends callbacks, the proxy the vendor library reaches it
/// through, and short retry delays (the emulator is local).
pub fn client_config_file(
    corp_id: &str,
    secrets: &EmulatorSecrets<'_>,
    base_url: &str,
    callback: Option<(&str, &str)>,
    sdk_proxy: Option<&str>,
) -> ConfigFile {
    let mut corp = CorpSection::new(corp_id);
    corp.secret = secrets.archive.to_owned();
    corp.contacts_secret = secrets.contacts.map(str::to_owned);
    corp.customer_secret = secrets.customer.map(str::to_owned);
    corp.base_url = base_url.to_owned();
    if let Some((token, key)) = callback {
        corp.callback_token = Some(token.to_owned());
        corp.callback_aes_key = Some(key.to_owned());
    }
    corp.sdk_proxy = sdk_proxy.map(str::to_owned);
    let mut file = ConfigFile::new(corp);
    file.sync.retry_base_delay_ms = 200;
    file
}

/// Writes `file` as a commented configuration at `config_path`, with `keys` in `keys/` beside it.
pub fn write_client_config(
    config_path: &Path,
    file: &ConfigFile,
    keys: &[(u32, PrivateKey)],
) -> anyhow::Result<()> {
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let keys_dir = dir.join("keys");
    if keys_dir.exists() {
        std::fs::remove_dir_all(&keys_dir)
            .with_context(|| format!("cannot replace {}", keys_dir.display()))?;
    }
    for (v, k) in keys {
        write_key(&keys_dir, *v, k)?;
    }
    let text = file.render_template()?;
    // It holds the archive secret (and the others): readable by the owner only.
    crate::files::write_private(config_path, &text)
        .with_context(|| format!("cannot write {}", config_path.display()))
}

pub fn run(args: &EmulatorArgs) -> anyhow::Result<ExitCode> {
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "the emulator serves plain http and listens on loopback only; {} is not loopback",
            args.listen
        );
    }
    let keys = generate_keys(args.rotate_at.is_some())?;
    let mut config = emulator_config(
        &args.corp_id,
        &args.secret,
        args.seed,
        args.messages,
        &keys,
        args.rotate_at,
        args.live,
    );
    if let (Some(url), Some(token), Some(key)) = (
        &args.callback_url,
        &args.callback_token,
        &args.callback_aes_key,
    ) {
        if !(0.0..=1.0).contains(&args.callback_drop)
            || !args.callback_interval.is_finite()
            || args.callback_interval < 0.0
        {
            anyhow::bail!(
                "--callback-drop takes 0.0–1.0 and --callback-interval a number of seconds"
            );
        }
        let mut cb = wecom_emulator::CallbackConfig::new(url, token, key);
        cb.min_interval = Duration::from_secs_f64(args.callback_interval);
        cb.drop_probability = args.callback_drop;
        config.callback = Some(cb);
    }
    let contacts_secret = config.contacts_secret.clone();
    let customer_secret = config.customer_secret.clone();
    let rt = runtime()?;
    rt.block_on(async {
        let emulator = tokio::task::spawn_blocking(move || Emulator::new(config))
            .await
            .context("corpus generation failed")??;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        // The vendor library reaches the emulator through an HTTP CONNECT proxy to a TLS endpoint
        // presenting a qyapi.weixin.qq.com certificate.
        let proxy_listener = tokio::net::TcpListener::bind(args.proxy_listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.proxy_listen))?;
        let proxy_url = format!("http://{}", proxy_listener.local_addr()?);
        if let Some(path) = &args.write_config {
            let callback = args
                .callback_token
                .as_deref()
                .zip(args.callback_aes_key.as_deref());
            let file = client_config_file(
                &args.corp_id,
                &EmulatorSecrets {
                    archive: &args.secret,
                    contacts: contacts_secret.as_deref(),
                    customer: customer_secret.as_deref(),
                },
                &base_url,
                callback,
                Some(&proxy_url),
            );
            write_client_config(path, &file, &keys)?;
            println!(
                "wrote client configuration {} (keys in {})",
                path.display(),
                path.with_file_name("keys").display()
            );
        }
        println!(
            "emulator for corp {} serving {} records at {base_url} (Ctrl-C stops)",
            args.corp_id,
            emulator.len()
        );
        println!("vendor-library proxy (source = \"sdk\") at {proxy_url}");
        let stop = tokio_util::sync::CancellationToken::new();
        let proxy = tokio::spawn(wecom_emulator::serve_proxy(
            emulator.clone(),
            proxy_listener,
            stop.clone().cancelled_owned(),
        ));
        let server = wecom_emulator::serve(emulator, listener, stop.clone().cancelled_owned());
        tokio::pin!(server);
        // Stop on Ctrl-C, or as soon as the server itself fails (instead of waiting for Ctrl-C).
        let served = tokio::select! {
            served = &mut server => served,
            _ = tokio::signal::ctrl_c() => {
                stop.cancel();
                server.await
            }
        };
        stop.cancel();
        served.context("emulator server failed")?;
        proxy
            .await
            .context("proxy task failed")?
            .context("emulator proxy failed")
    })?;
    Ok(ExitCode::SUCCESS)
}
