//! RSA keys: PEM in every accepted form, clear errors for the rest, and the per-record pipeline.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pkcs8::der::Decode as _;
use wecom_crypto::{
    KeyError, KeyRing, PrivateKey, PublicKey, RecordError, RsaError, decrypt_record,
    encode_message, encrypt_random_key, rsa_private_ops_per_second,
};

use crate::support::{ascii_vector, rng};

fn fixture(name: &str) -> &'static str {
    match name {
        "ec-pkcs8" => include_str!("../data/keys/ec-pkcs8.pem"),
        "ec-public" => include_str!("../data/keys/ec-public.pem"),
        "ec-sec1" => include_str!("../data/keys/ec-sec1.pem"),
        "ed25519" => include_str!("../data/keys/ed25519.pem"),
        "rsa1024-pkcs1" => include_str!("../data/keys/rsa1024-pkcs1.pem"),
        "rsa2048-cert" => include_str!("../data/keys/rsa2048-cert.pem"),
        "rsa2048-encrypted-pkcs1" => include_str!("../data/keys/rsa2048-encrypted-pkcs1.pem"),
        "rsa2048-encrypted-pkcs8" => include_str!("../data/keys/rsa2048-encrypted-pkcs8.pem"),
        "rsa2048-pkcs1-public" => include_str!("../data/keys/rsa2048-pkcs1-public.pem"),
        "rsa2048-pkcs1" => include_str!("../data/keys/rsa2048-pkcs1.pem"),
        "rsa2048-pkcs8" => include_str!("../data/keys/rsa2048-pkcs8.pem"),
        "rsa2048-spki" => include_str!("../data/keys/rsa2048-spki.pem"),
        other => panic!("no fixture {other}"),
    }
}

/// Two generated keys shared by the tests (generation is the slow part).
fn generated() -> &'static (PrivateKey, PrivateKey) {
    static KEYS: OnceLock<(PrivateKey, PrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            PrivateKey::generate_rsa2048().expect("generate"),
            PrivateKey::generate_rsa2048().expect("generate"),
        )
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[test]
fn generated_key_round_trips_through_pkcs8_and_pkcs1_pem() {
    let (key, _) = generated();
    assert_eq!(key.bits(), 2048);
    let text = key.to_pkcs8_pem();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(text.lines().all(|l| l.len() <= 64));
    let back = PrivateKey::from_pem(&text).expect("pkcs8 pem");
    assert_eq!(back.public_key(), key.public_key());

    // PKCS#1 "RSA PRIVATE KEY" made from the same key
    let info = pkcs8::PrivateKeyInfo::from_der(key.to_pkcs8_der()).expect("pkcs8 der");
    let pkcs1 = PrivateKey::from_pem(&pem("RSA PRIVATE KEY", info.private_key)).expect("pkcs1 pem");
    assert_eq!(pkcs1.public_key(), key.public_key());

    // public key: SPKI out, SPKI and PKCS#1 in
    let public = key.public_key();
    let spki = public.to_pem();
    assert!(
        spki.starts_with("-----BEGIN PUBLIC KEY-----\n")
            && spki.ends_with("-----END PUBLIC KEY-----\n")
    );
    assert!(spki.lines().all(|l| l.len() <= 64));
    assert_eq!(PublicKey::from_pem(&spki).expect("spki"), public);
    let spki_der =
        pkcs8::spki::SubjectPublicKeyInfoRef::from_der(public.to_spki_der()).expect("spki der");
    let pkcs1_public = pem("RSA PUBLIC KEY", spki_der.subject_public_key.raw_bytes());
    assert_eq!(
        PublicKey::from_pem(&pkcs1_public).expect("pkcs1 public"),
        public
    );
}

#[test]
fn openssl_keys_parse_in_every_form_and_decrypt_openssl_ciphertext() {
    let pkcs8 = PrivateKey::from_pem(fixture("rsa2048-pkcs8")).expect("pkcs8");
    let pkcs1 = PrivateKey::from_pem(fixture("rsa2048-pkcs1")).expect("pkcs1");
    let spki = PublicKey::from_pem(fixture("rsa2048-spki")).expect("spki");
    let pkcs1_public = PublicKey::from_pem(fixture("rsa2048-pkcs1-public")).expect("pkcs1 public");
    assert_eq!(pkcs8.public_key(), spki);
    assert_eq!(pkcs1.public_key(), spki);
    assert_eq!(pkcs1_public, spki);
    // The SPKI PEM we write is byte-identical to OpenSSL's.
    assert_eq!(spki.to_pem(), fixture("rsa2048-spki"));

    let ciphertext = STANDARD
        .decode(include_str!("../data/keys/openssl-pkcs1-ciphertext.b64").trim())
        .expect("base64");
    assert_eq!(
        pkcs1.decrypt_pkcs1(&ciphertext).expect("decrypts"),
        b"wecom-crypto test fixture"
    );

    // Indented (TOML multi-line string) and CRLF text still parses.
    let indented: String = fixture("rsa2048-pkcs1")
        .lines()
        .map(|l| format!("    {l}\r\n"))
        .collect();
    assert!(PrivateKey::from_pem(&indented).is_ok());
    // Text around the block is ignored.
    assert!(
        PrivateKey::from_pem(&format!("my key:\n{}\nthanks", fixture("rsa2048-pkcs8"))).is_ok()
    );
}

#[test]
fn unusable_pem_gets_a_clear_error() {
    let check = |text: &str, expected: KeyError| {
        assert_eq!(
            PrivateKey::from_pem(text).expect_err(text),
            expected,
            "{text}"
        );
    };
    check("", KeyError::NoPemBlock);
    check("not a key at all", KeyError::NoPemBlock);
    check(
        "MIIEpQIBAAKCAQEAy1M+pEEULVO3qvQtazygLtZNbyQaSHuCzVc5C9TQ",
        KeyError::NoPemBlock,
    );
    check(fixture("rsa2048-encrypted-pkcs1"), KeyError::Encrypted);
    check(fixture("rsa2048-encrypted-pkcs8"), KeyError::Encrypted);
    check(
        fixture("ec-sec1"),
        KeyError::NotRsa {
            algorithm: "ec".into(),
        },
    );
    check(
        fixture("ec-pkcs8"),
        KeyError::NotRsa {
            algorithm: "ec".into(),
        },
    );
    check(
        fixture("ed25519"),
        KeyError::NotRsa {
            algorithm: "ed25519".into(),
        },
    );
    check(
        fixture("rsa1024-pkcs1"),
        KeyError::UnsupportedSize { bits: 1024 },
    );
    check(
        fixture("rsa2048-cert"),
        KeyError::WrongBlock {
            found: "CERTIFICATE".into(),
            expected: "a private key (`RSA PRIVATE KEY` or `PRIVATE KEY`)",
        },
    );
    check(
        fixture("rsa2048-spki"),
        KeyError::WrongBlock {
            found: "PUBLIC KEY".into(),
            expected: "a private key (`RSA PRIVATE KEY` or `PRIVATE KEY`)",
        },
    );
    check(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n",
        KeyError::Malformed {
            reason: "pem block `RSA PRIVATE KEY` has no end line".into(),
        },
    );
    check(
        "-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----\n",
        KeyError::Malformed {
            reason: "pem body is not valid base64".into(),
        },
    );
    // a truncated body: base64 fine, DER not
    let full = fixture("rsa2048-pkcs1");
    let truncated: String = full
        .lines()
        .enumerate()
        .filter(|(i, _)| *i < 5 || full.lines().count() - 1 == *i)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    match PrivateKey::from_pem(&truncated) {
        Err(KeyError::Malformed { reason }) => {
            assert!(reason.starts_with("pkcs#1 der"), "{reason}")
        }
        other => panic!("{other:?}"),
    }

    // public keys
    assert_eq!(
        PublicKey::from_pem(fixture("ec-public")).expect_err("ec"),
        KeyError::NotRsa {
            algorithm: "ec".into()
        }
    );
    assert_eq!(
        PublicKey::from_pem(fixture("rsa2048-pkcs8")).expect_err("private"),
        KeyError::WrongBlock {
            found: "PRIVATE KEY".into(),
            expected: "a public key (`PUBLIC KEY` or `RSA PUBLIC KEY`)",
        }
    );
    // messages are lowercase and name the problem
    assert_eq!(
        KeyError::Encrypted.to_string(),
        "encrypted private keys are not supported; remove the passphrase first (e.g. `openssl pkey -in key.pem -out plain.pem`)"
    );
    assert_eq!(
        KeyError::NotRsa {
            algorithm: "ec".into()
        }
        .to_string(),
        "not an rsa key (found ec)"
    );
}

#[test]
fn record_pipeline_round_trips_and_names_the_failing_stage() {
    let (key, other) = generated();
    let v = ascii_vector();
    let mut ring = KeyRing::new();
    assert!(ring.is_empty());
    ring.insert(3, PrivateKey::from_pem(&key.to_pkcs8_pem()).expect("pem"));
    ring.insert(1, PrivateKey::from_pem(&other.to_pkcs8_pem()).expect("pem"));
    assert_eq!(ring.versions(), vec![1, 3]);
    let shared = ring.clone();
    assert!(shared.get(3).is_some() && shared.get(2).is_none());

    let random_key = encrypt_random_key(&key.public_key(), &v.encrypt_key).expect("encrypts");
    let plain = decrypt_record(&ring, 3, &random_key, &v.encrypt_msg).expect("decrypts");
    assert_eq!(plain, v.plaintext.as_bytes());

    // a fresh encoding through the whole pipeline
    let enc = encode_message("{\"msgid\":\"x\"}".as_bytes(), &mut rng(5));
    let random_key = encrypt_random_key(&key.public_key(), &enc.encrypt_key).expect("encrypts");
    assert_eq!(
        decrypt_record(&ring, 3, &random_key, &enc.encrypt_msg).expect("decrypts"),
        b"{\"msgid\":\"x\"}"
    );

    // missing version
    let err = decrypt_record(&ring, 2, &random_key, &enc.encrypt_msg).expect_err("no key");
    assert_eq!(err, RecordError::NoKey { version: 2 });
    assert_eq!((err.code().code(), err.stage()), (10007, "no_key"));

    // wrong key: an RSA failure, or (with implicit rejection) a 10008 from DecryptData
    let err = decrypt_record(&ring, 1, &random_key, &enc.encrypt_msg).expect_err("wrong key");
    match &err {
        RecordError::Rsa { version: 1 } => {
            assert_eq!((err.code().code(), err.stage()), (10006, "rsa"));
            assert!(
                err.to_string().contains("wrong key or wrong key version"),
                "{err}"
            );
        }
        RecordError::DecryptData(e) => assert_eq!(e.code.code(), 10008, "{e}"),
        other => panic!("{other:?}"),
    }

    // encrypt_random_key not base64
    let err = decrypt_record(&ring, 3, "not base64!", &enc.encrypt_msg).expect_err("b64");
    assert_eq!(err, RecordError::RandomKeyBase64);

    // a broken message behind a good key
    let err = decrypt_record(&ring, 3, &random_key, "short").expect_err("short");
    assert_eq!((err.code().code(), err.stage()), (10008, "decrypt_data"));
}

#[test]
fn rsa_limits_are_errors_not_panics() {
    let (key, _) = generated();
    let public = key.public_key();
    assert_eq!(
        public.encrypt_pkcs1(&[0u8; 246]).expect_err("too long"),
        RsaError::PlaintextTooLong {
            max: 245,
            actual: 246
        }
    );
    assert!(public.encrypt_pkcs1(&[0u8; 245]).is_ok());
    assert_eq!(
        key.decrypt_pkcs1(&[1u8; 257]).expect_err("too long"),
        RsaError::CiphertextLength {
            modulus: 256,
            actual: 257
        }
    );
    assert_eq!(
        key.decrypt_pkcs1(&[]).expect_err("empty"),
        RsaError::Decrypt
    );
    assert_eq!(
        key.decrypt_pkcs1(&[0xff; 256]).expect_err("junk"),
        RsaError::Decrypt
    );
    // a ciphertext that lost its leading zero bytes still decrypts, as with OpenSSL
    let mut seed = 0u8;
    loop {
        let ct = public.encrypt_pkcs1(&[seed; 8]).expect("encrypts");
        if ct[0] == 0 {
            assert_eq!(key.decrypt_pkcs1(&ct[1..]).expect("decrypts"), [seed; 8]);
            break;
        }
        seed = seed.wrapping_add(1);
        if seed == 0 {
            break; // 256 tries without a leading zero: skip rather than loop forever
        }
    }
}

#[test]
fn rsa_ops_per_second_measures_something() {
    let (key, _) = generated();
    let ops = rsa_private_ops_per_second(key, std::time::Duration::from_millis(50));
    assert!(ops > 10.0, "{ops}");
}

#[test]
fn keys_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<PrivateKey>();
    send_sync::<PublicKey>();
    send_sync::<KeyRing>();
    let (key, _) = generated();
    let ct = key.public_key().encrypt_pkcs1(b"shared").expect("encrypts");
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(key.decrypt_pkcs1(&ct).expect("decrypts"), b"shared"));
        }
    });
}
