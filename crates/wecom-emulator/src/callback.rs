//! The emulator's side of `msgaudit_notify`: after records are appended, POST an encrypted, signed
//! event to the configured URL — at most once per interval (appends in between coalesce, as WeCom
//! does), with an optional share of callbacks dropped to imitate lost deliveries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;
use tokio::time::Instant;
use wecom_callback::{CallbackCrypto, encrypted_envelope};

use crate::emulator::{CallbackConfig, Emulator};
use crate::server::stopped;

pub(crate) async fn sender(
    emulator: Emulator,
    config: CallbackConfig,
    mut stop: watch::Receiver<bool>,
) {
    let crypto =
        match CallbackCrypto::new(&config.token, &config.encoding_aes_key, emulator.corp_id()) {
            Ok(c) => c,
            Err(error) => {
                tracing::error!(%error, "emulator callback disabled: bad EncodingAESKey");
                return;
            }
        };
    let http = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(h) => h,
        Err(error) => {
            tracing::error!(%error, "emulator callback disabled: no http client");
            return;
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0x6361_6c6c_6261_636b);
    let mut last_sent: Option<Instant> = None;
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            () = emulator.appended() => {}
        }
        if let Some(last) = last_sent {
            let next = last + config.min_interval;
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = tokio::time::sleep_until(next) => {}
            }
        }
        last_sent = Some(Instant::now());
        if config.drop_probability > 0.0 && rng.random_bool(config.drop_probability.clamp(0.0, 1.0))
        {
            emulator.count_callback(false);
            tracing::debug!("callback dropped on purpose");
            continue;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let event = format!(
            "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType><AgentID>{agent}</AgentID><Event><![CDATA[msgaudit_notify]]></Event></xml>",
            corp = emulator.corp_id(),
            agent = config.agent_id,
        );
        let mut random = [0u8; 16];
        rng.fill_bytes(&mut random);
        let encrypted = crypto.encrypt(event.as_bytes(), random);
        let timestamp = now.to_string();
        let nonce = rng.random_range(100_000_000u64..10_000_000_000).to_string();
        let signature = crypto.signature(&timestamp, &nonce, &encrypted);
        let body = encrypted_envelope(emulator.corp_id(), &config.agent_id, &encrypted);
        let Ok(mut url) = reqwest::Url::parse(&config.url) else {
            tracing::error!("emulator callback disabled: the callback url does not parse");
            return;
        };
        url.query_pairs_mut()
            .append_pair("msg_signature", &signature)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce);
        let sent = http.post(url).body(body).send().await;
        match sent {
            Ok(resp) => {
                emulator.count_callback(true);
                tracing::debug!(status = %resp.status(), "callback delivered");
            }
            // WeCom retries a few times; a receiver that is down simply misses this one and relies
            // on its polling, which is what the callback's contract says.
            Err(error) => tracing::debug!(error = %error.without_url(), "callback not delivered"),
        }
    }
}
