//! The proxy that serves the genuine vendor library, driven by a plain HTTPS client: HTTP
//! CONNECT and SOCKS5h tunnels to a TLS endpoint with a generated `qyapi.weixin.qq.com`
//! certificate, optional proxy credentials, and refusals for anything else. (The genuine library
//! itself goes through it in `wecom-sdk`'s conformance suite.)

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use wecom_emulator::{Emulator, ProxyOptions, TlsIdentity, WECOM_HOST};

use crate::config;

struct Proxy {
    addr: std::net::SocketAddr,
    emulator: Emulator,
    identity: TlsIdentity,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Proxy {
    async fn start(options: ProxyOptions) -> Proxy {
        let emulator = Emulator::new(config(7, 12)).expect("emulator");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let identity = TlsIdentity::generate().expect("certificate");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(wecom_emulator::serve_proxy_with(
            emulator.clone(),
            listener,
            identity.clone(),
            options,
            async move {
                let _ = rx.await;
            },
        ));
        Proxy {
            addr,
            emulator,
            identity,
            stop: tx,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("join").expect("proxy");
    }

    /// An HTTPS client whose every request goes through `proxy_url`. The generated certificate
    /// is self-signed (like the one the vendor library is content with), so the chain is not
    /// verified here either.
    fn client(&self, proxy: reqwest::Proxy) -> reqwest::Client {
        reqwest::Client::builder()
            .proxy(proxy)
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client")
    }

    async fn gettoken(&self, client: &reqwest::Client) -> reqwest::Result<Value> {
        let url = format!(
            "https://{WECOM_HOST}/cgi-bin/gettoken?corpid={}&corpsecret={}",
            self.emulator.corp_id(),
            self.emulator.secret()
        );
        client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    }
}

#[tokio::test]
async fn http_connect_and_socks5h_tunnels_reach_the_emulator_over_tls() {
    let proxy = Proxy::start(ProxyOptions::default()).await;
    for url in [
        format!("http://{}", proxy.addr),
        format!("socks5h://{}", proxy.addr),
    ] {
        let client = proxy.client(reqwest::Proxy::all(&url).expect("proxy url"));
        let token = proxy.gettoken(&client).await.expect(&url);
        assert_eq!(token["errcode"], 0, "{url}");
        assert!(
            token["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        // Credentials are accepted when none are required.
        let with_auth = proxy.client(
            reqwest::Proxy::all(&url)
                .expect("proxy url")
                .basic_auth("anyone", "anything"),
        );
        assert_eq!(proxy.gettoken(&with_auth).await.expect(&url)["errcode"], 0);
    }
    assert_eq!(proxy.emulator.token_issued_count(), 4);
    assert!(!proxy.identity.certificate_der().is_empty());
    proxy.stop().await;
}

#[tokio::test]
async fn required_credentials_are_checked() {
    let proxy = Proxy::start(ProxyOptions {
        credentials: Some(("archive".to_owned(), "pa:ss".to_owned())),
    })
    .await;
    let url = format!("http://{}", proxy.addr);
    let good = proxy.client(
        reqwest::Proxy::all(&url)
            .expect("url")
            .basic_auth("archive", "pa:ss"),
    );
    assert_eq!(proxy.gettoken(&good).await.expect("good")["errcode"], 0);
    for client in [
        proxy.client(reqwest::Proxy::all(&url).expect("url")),
        proxy.client(
            reqwest::Proxy::all(&url)
                .expect("url")
                .basic_auth("archive", "wrong"),
        ),
    ] {
        assert!(proxy.gettoken(&client).await.is_err());
    }
    // The refusal itself, as the library would read it.
    let mut stream = TcpStream::connect(proxy.addr).await.expect("connect");
    stream
        .write_all(
            b"CONNECT qyapi.weixin.qq.com:443 HTTP/1.1\r\nHost: qyapi.weixin.qq.com:443\r\n\r\n",
        )
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 407 "), "{answer}");
    assert!(answer.contains("Proxy-Authenticate: Basic"), "{answer}");
    proxy.stop().await;
}

#[tokio::test]
async fn only_the_wecom_host_is_tunnelled() {
    let proxy = Proxy::start(ProxyOptions::default()).await;
    for (request, status) in [
        ("CONNECT example.com:443 HTTP/1.1\r\n\r\n", "403"),
        ("GET http://qyapi.weixin.qq.com/ HTTP/1.1\r\n\r\n", "405"),
    ] {
        let mut stream = TcpStream::connect(proxy.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{request:?}: {answer}"
        );
    }
    // SOCKS5 CONNECT to an address (what plain socks5:// sends) is refused with reply 2.
    let mut stream = TcpStream::connect(proxy.addr).await.expect("connect");
    stream.write_all(&[5, 1, 0]).await.expect("greeting");
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await.expect("method");
    assert_eq!(choice, [5, 0]);
    stream
        .write_all(&[5, 1, 0, 1, 127, 0, 0, 1, 1, 187])
        .await
        .expect("request");
    let mut reply = [0u8; 10];
    stream.read_exact(&mut reply).await.expect("reply");
    assert_eq!(reply[1], 2);
    proxy.stop().await;
}
