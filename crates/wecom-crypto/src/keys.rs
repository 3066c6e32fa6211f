//! RSA keys from PEM text (PKCS#1 or PKCS#8), PKCS#1 v1.5 encryption and decryption, and the key ring.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use pkcs8::der::Encode as _;
use pkcs8::der::asn1::BitStringRef;
use pkcs8::spki::SubjectPublicKeyInfoRef;

use crate::pem;

/// Smallest and largest modulus the RSA backend accepts.
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

/// PEM labels of private keys, RSA or not, so that a wrong kind is named rather than missed.
const PRIVATE_LABELS: &[&str] = &[
    "RSA PRIVATE KEY",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
];
const PUBLIC_LABELS: &[&str] = &["PUBLIC KEY", "RSA PUBLIC KEY"];

/// Why a key could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text has no `-----BEGIN …-----` / `-----END …-----` block.
    #[error(
        "no pem block found (the key must include its -----BEGIN ...----- and -----END ...----- lines)"
    )]
    NoPemBlock,
    /// A PEM block of another kind (a certificate, a public key where a private one is needed, …).
    #[error("found a `{found}` pem block, expected {expected}")]
    WrongBlock {
        /// The label found.
        found: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A password-protected key.
    #[error(
        "encrypted private keys are not supported; remove the passphrase first (e.g. `openssl pkey -in key.pem -out plain.pem`)"
    )]
    Encrypted,
    /// A key of another algorithm.
    #[error("not an rsa key (found {algorithm})")]
    NotRsa {
        /// The algorithm found, e.g. `ec`.
        algorithm: String,
    },
    /// Bytes that do not form a key of the announced kind.
    #[error("malformed key: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// An RSA modulus outside 2048..=8192 bits.
    #[error("rsa key size of {bits} bits is not supported (2048 to 8192 bits are)")]
    UnsupportedSize {
        /// Modulus size in bits.
        bits: usize,
    },
    /// The RSA backend could not generate a key.
    #[error("rsa key generation failed")]
    Generate,
}

impl KeyError {
    fn malformed(reason: impl fmt::Display) -> Self {
        KeyError::Malformed {
            reason: reason.to_string(),
        }
    }
}

/// Why an RSA operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RsaError {
    /// Ciphertext longer than the modulus.
    #[error("ciphertext of {actual} bytes is longer than the {modulus}-byte rsa modulus")]
    CiphertextLength {
        /// Modulus size in bytes.
        modulus: usize,
        /// Ciphertext size in bytes.
        actual: usize,
    },
    /// PKCS#1 v1.5 decryption failed: the padding did not check out.
    #[error("rsa pkcs#1 v1.5 decryption failed (wrong key or corrupted ciphertext)")]
    Decrypt,
    /// Plaintext too long for one PKCS#1 v1.5 block.
    #[error(
        "plaintext of {actual} bytes exceeds the {max} bytes one rsa pkcs#1 v1.5 block can carry"
    )]
    PlaintextTooLong {
        /// Largest plaintext for this key.
        max: usize,
        /// Plaintext size.
        actual: usize,
    },
    /// The RSA backend refused to encrypt.
    #[error("rsa pkcs#1 v1.5 encryption failed")]
    Encrypt,
}

/// An RSA private key (2048..=8192 bits). Cheap to share behind an `Arc`; `Send + Sync`.
pub struct PrivateKey {
    decrypting: Pkcs1PrivateDecryptingKey,
    pkcs8_der: Vec<u8>,
    public: PublicKey,
    bits: usize,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A fresh RSA-2048 key (what the WeCom admin console expects).
    pub fn generate_rsa2048() -> Result<PrivateKey, KeyError> {
        let key =
            PrivateDecryptingKey::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let pkcs8_der = key
            .as_der()
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
        PrivateKey::from_backend(key, pkcs8_der).map_err(|_| KeyError::Generate)
    }

    /// Reads the first private key in PEM text: PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`).
    ///
    /// Errors say in plain words what is wrong: no PEM block, a block of another kind, an encrypted
    /// key, a non-RSA key, malformed DER, or a key size outside 2048..=8192 bits.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, KeyError> {
        let block = find_block(
            pem,
            PRIVATE_LABELS,
            "a private key (`RSA PRIVATE KEY` or `PRIVATE KEY`)",
        )?;
        if block.encrypted {
            return Err(KeyError::Encrypted);
        }
        let der = || {
            block
                .der()
                .ok_or_else(|| KeyError::malformed("pem body is not valid base64"))
        };
        match block.label.as_str() {
            "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_der(&der()?),
            "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&der()?),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            "EC PRIVATE KEY" => Err(KeyError::NotRsa {
                algorithm: "ec".into(),
            }),
            "DSA PRIVATE KEY" => Err(KeyError::NotRsa {
                algorithm: "dsa".into(),
            }),
            _ => Err(KeyError::malformed(
                "the openssh private key format is not supported; convert it with `ssh-keygen -p -m PKCS8 -f FILE`",
            )),
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (v1 or v2) holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| KeyError::malformed(format!("pkcs#8 der: {e}")))?;
        if info.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(KeyError::NotRsa {
                algorithm: algorithm_name(&info.algorithm.oid),
            });
        }
        PrivateKey::from_pkcs1_der(info.private_key)
    }

    /// Reads a PKCS#1 `RSAPrivateKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let rsa = pkcs1::RsaPrivateKey::try_from(der)
            .map_err(|e| KeyError::malformed(format!("pkcs#1 der: {e}")))?;
        check_size(modulus_bits(rsa.modulus.as_bytes()))?;
        // The backend takes PKCS#8 v1; wrapping also normalises a v2 document.
        let pkcs8_der = pkcs8::PrivateKeyInfo::new(pkcs1::ALGORITHM_ID, der)
            .to_der()
            .map_err(|e| KeyError::malformed(format!("pkcs#8 der: {e}")))?;
        let key = PrivateDecryptingKey::from_pkcs8(&pkcs8_der)
            .map_err(|e| KeyError::malformed(format!("rsa key rejected: {e}")))?;
        PrivateKey::from_backend(key, pkcs8_der)
    }

    fn from_backend(key: PrivateDecryptingKey, pkcs8_der: Vec<u8>) -> Result<PrivateKey, KeyError> {
        let bits = key.key_size_bits();
        let public = PublicKey::from_backend(key.public_key())?;
        let decrypting = Pkcs1PrivateDecryptingKey::new(key)
            .map_err(|_| KeyError::malformed("rsa key rejected"))?;
        Ok(PrivateKey {
            decrypting,
            pkcs8_der,
            public,
            bits,
        })
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, 64-character lines).
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode("PRIVATE KEY", &self.pkcs8_der)
    }

    /// The key as PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8_der
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// RSA PKCS#1 v1.5 decryption. A ciphertext shorter than the modulus is left-padded with zeros,
    /// as OpenSSL accepts it (some encoders drop leading zero bytes).
    pub fn decrypt_pkcs1(&self, ciphertext: &[u8]) -> Result<Vec<u8>, RsaError> {
        let modulus = self.decrypting.key_size_bytes();
        let padded;
        let ciphertext = match ciphertext.len() {
            n if n > modulus => {
                return Err(RsaError::CiphertextLength { modulus, actual: n });
            }
            n if n < modulus => {
                let mut buf = vec![0u8; modulus - n];
                buf.extend_from_slice(ciphertext);
                padded = buf;
                &padded[..]
            }
            _ => ciphertext,
        };
        let mut out = vec![0u8; self.decrypting.min_output_size()];
        let len = self
            .decrypting
            .decrypt(ciphertext, &mut out)
            .map_err(|_| RsaError::Decrypt)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// An RSA public key (2048..=8192 bits).
#[derive(Clone)]
pub struct PublicKey {
    key: PublicEncryptingKey,
    spki_der: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// Reads the first public key in PEM text: SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let block = find_block(
            pem,
            PUBLIC_LABELS,
            "a public key (`PUBLIC KEY` or `RSA PUBLIC KEY`)",
        )?;
        let der = block
            .der()
            .ok_or_else(|| KeyError::malformed("pem body is not valid base64"))?;
        if block.label == "RSA PUBLIC KEY" {
            PublicKey::from_pkcs1_der(&der)
        } else {
            PublicKey::from_spki_der(&der)
        }
    }

    /// Reads an X.509 `SubjectPublicKeyInfo` holding an RSA key.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| KeyError::malformed(format!("spki der: {e}")))?;
        if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(KeyError::NotRsa {
                algorithm: algorithm_name(&spki.algorithm.oid),
            });
        }
        let pkcs1_der = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::malformed("spki key bits are not whole bytes"))?;
        PublicKey::from_pkcs1_der(pkcs1_der)
    }

    /// Reads a PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let rsa = pkcs1::RsaPublicKey::try_from(der)
            .map_err(|e| KeyError::malformed(format!("pkcs#1 der: {e}")))?;
        check_size(modulus_bits(rsa.modulus.as_bytes()))?;
        let bits = BitStringRef::from_bytes(der)
            .map_err(|e| KeyError::malformed(format!("spki der: {e}")))?;
        let spki_der = SubjectPublicKeyInfoRef {
            algorithm: pkcs1::ALGORITHM_ID,
            subject_public_key: bits,
        }
        .to_der()
        .map_err(|e| KeyError::malformed(format!("spki der: {e}")))?;
        let key = PublicEncryptingKey::from_der(&spki_der)
            .map_err(|e| KeyError::malformed(format!("rsa key rejected: {e}")))?;
        Ok(PublicKey { key, spki_der })
    }

    fn from_backend(key: PublicEncryptingKey) -> Result<PublicKey, KeyError> {
        let spki_der = key
            .as_der()
            .map_err(|_| KeyError::malformed("rsa public key could not be encoded"))?
            .as_ref()
            .to_vec();
        Ok(PublicKey { key, spki_der })
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`, 64-character lines), the form the WeCom
    /// admin console accepts.
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki_der)
    }

    /// The key as SPKI DER.
    pub fn to_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SPKI DER, in hex: names a key in listings without showing it.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki_der);
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.key_size_bits()
    }

    /// RSA PKCS#1 v1.5 encryption with fresh random padding.
    pub fn encrypt_pkcs1(&self, plaintext: &[u8]) -> Result<Vec<u8>, RsaError> {
        let key = Pkcs1PublicEncryptingKey::new(self.key.clone()).map_err(|_| RsaError::Encrypt)?;
        let max = key.max_plaintext_size();
        if plaintext.len() > max {
            return Err(RsaError::PlaintextTooLong {
                max,
                actual: plaintext.len(),
            });
        }
        let mut out = vec![0u8; key.ciphertext_size()];
        let len = key
            .encrypt(plaintext, &mut out)
            .map_err(|_| RsaError::Encrypt)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// Private keys by `publickey_ver`. Clones share the keys.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: BTreeMap<u32, Arc<PrivateKey>>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Adds (or replaces) the key for `version`.
    pub fn insert(&mut self, version: u32, key: PrivateKey) {
        self.keys.insert(version, Arc::new(key));
    }

    /// Adds (or replaces) the key for `version`, sharing an existing `Arc`.
    pub fn insert_shared(&mut self, version: u32, key: Arc<PrivateKey>) {
        self.keys.insert(version, key);
    }

    /// The key for `version`.
    pub fn get(&self, version: u32) -> Option<&PrivateKey> {
        self.keys.get(&version).map(|key| &**key)
    }

    /// The versions held, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Single-thread RSA private-key operations per second with this key: PKCS#1 v1.5 decryption of a
/// real 88-byte ciphertext (the size of an `encrypt_key`), repeated for `duration` (at least once).
/// Returns 0.0 if the key cannot encrypt or decrypt.
pub fn rsa_private_ops_per_second(key: &PrivateKey, duration: Duration) -> f64 {
    let Ok(ciphertext) = key.public_key().encrypt_pkcs1(&[b'k'; 88]) else {
        return 0.0;
    };
    let start = Instant::now();
    let mut ops = 0u64;
    loop {
        if key.decrypt_pkcs1(&ciphertext).is_err() {
            return 0.0;
        }
        ops += 1;
        let elapsed = start.elapsed();
        if elapsed >= duration {
            return ops as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        }
    }
}

/// The first block with one of `labels`; otherwise a clear error about what was found.
fn find_block(text: &str, labels: &[&str], expected: &'static str) -> Result<pem::Block, KeyError> {
    let blocks = pem::blocks(text).map_err(|pem::PemError::Unterminated(label)| {
        KeyError::malformed(format!("pem block `{label}` has no end line"))
    })?;
    let first_label = blocks.first().map(|b| b.label.clone());
    match blocks
        .into_iter()
        .find(|b| labels.contains(&b.label.as_str()))
    {
        Some(block) => Ok(block),
        None => match first_label {
            Some(found) => Err(KeyError::WrongBlock { found, expected }),
            None => Err(KeyError::NoPemBlock),
        },
    }
}

fn modulus_bits(modulus: &[u8]) -> usize {
    match modulus.iter().position(|&b| b != 0) {
        Some(i) => {
            let top = modulus.get(i).copied().unwrap_or(0);
            (modulus.len() - i) * 8 - top.leading_zeros() as usize
        }
        None => 0,
    }
}

fn check_size(bits: usize) -> Result<(), KeyError> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(KeyError::UnsupportedSize { bits })
    }
}

fn algorithm_name(oid: &pkcs8::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "ec".into(),
        "1.2.840.113549.1.1.10" => "rsassa-pss, which is for signatures only".into(),
        "1.2.840.10040.4.1" => "dsa".into(),
        "1.3.101.110" => "x25519".into(),
        "1.3.101.111" => "x448".into(),
        "1.3.101.112" => "ed25519".into(),
        "1.3.101.113" => "ed448".into(),
        "1.2.156.10197.1.301" => "sm2".into(),
        other => format!("algorithm {other}"),
    }
}
