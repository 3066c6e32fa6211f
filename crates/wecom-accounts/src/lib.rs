//! Credentials of the API's accounts, and nothing else: passwords hashed with Argon2id into PHC
//! strings ([`hash_password`], [`verify_password`]), the minimum password policy
//! ([`check_password_policy`]), and session tokens ([`SessionToken`]) with the SHA-256 hex they
//! are stored under ([`token_sha256`]).
//!
//! Invariants:
//! - no password or token is ever kept, logged or shown by this crate: `Debug` of a
//!   [`SessionToken`] hides the token, errors never quote a password or a hash;
//! - hashing and verifying are CPU work of tens of milliseconds by design: callers on an async
//!   runtime run them on its blocking pool;
//! - the comparison of a password against a hash is the `argon2` crate's (constant time).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{ARGON2ID_IDENT, Argon2};
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// Fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most characters a password may have: enough for any passphrase, little enough that hashing
/// cannot be made expensive by a huge body.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// What kind of failure an [`AccountsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountsErrorKind {
    /// The password does not meet the policy; another password will do.
    WeakPassword,
    /// The stored hash is not an Argon2id PHC string this build can check.
    InvalidHash,
    /// Hashing failed (the system's random source, the hasher).
    Hashing,
}

/// An error of hashing, verifying or checking a password. Never quotes the password or the hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountsError {
    #[error("the password is too short: at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is too long: at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("the password is only spaces")]
    Blank,
    #[error("the stored password hash is not an Argon2id PHC string: {0}")]
    InvalidHash(String),
    #[error("cannot hash the password: {0}")]
    Hashing(String),
}

impl AccountsError {
    pub fn kind(&self) -> AccountsErrorKind {
        match self {
            AccountsError::TooShort | AccountsError::TooLong | AccountsError::Blank => {
                AccountsErrorKind::WeakPassword
            }
            AccountsError::InvalidHash(_) => AccountsErrorKind::InvalidHash,
            AccountsError::Hashing(_) => AccountsErrorKind::Hashing,
        }
    }
}

/// Checks the minimum password policy: [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`]
/// characters, not only whitespace.
pub fn check_password_policy(password: &str) -> Result<(), AccountsError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountsError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AccountsError::TooLong);
    }
    if password.trim().is_empty() {
        return Err(AccountsError::Blank);
    }
    Ok(())
}

/// Hashes `password` (which must meet [`check_password_policy`]) with Argon2id, version 19 and
/// the `argon2` crate's default cost (19 MiB, 2 passes, 1 lane: OWASP's recommendation), under a
/// fresh 16-byte random salt. Returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, AccountsError> {
    check_password_policy(password)?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountsError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AccountsError::Hashing(e.to_string()))
}

/// Whether `password` matches the Argon2id PHC string `phc` (with the cost stored in it). A
/// string that is not an Argon2id PHC string is [`AccountsErrorKind::InvalidHash`]; the policy is
/// not applied (a stored password stays usable if the policy changes).
pub fn verify_password(password: &str, phc: &str) -> Result<bool, AccountsError> {
    let parsed = PasswordHash::new(phc).map_err(|e| AccountsError::InvalidHash(e.to_string()))?;
    if parsed.algorithm != ARGON2ID_IDENT {
        return Err(AccountsError::InvalidHash(format!(
            "algorithm {} instead of argon2id",
            parsed.algorithm
        )));
    }
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(AccountsError::InvalidHash(e.to_string())),
    }
}

/// A new session's token, for the client (a cookie), and its SHA-256 hex, for the store.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken {
    /// 32 random bytes, base64url without padding (43 characters).
    pub token: String,
    /// [`token_sha256`] of `token`.
    pub sha256: String,
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken")
            .field("token", &"<redacted>")
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl SessionToken {
    /// 32 bytes from the thread's cryptographically secure generator (seeded by the OS).
    pub fn generate() -> SessionToken {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let sha256 = token_sha256(&token);
        SessionToken { token, sha256 }
    }
}

/// The lowercase hex SHA-256 of a token as the client presents it: the key a session is stored
/// and looked up under.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse battery", &phc).expect("verify"));
        assert!(!verify_password("correct horse batterY", &phc).expect("verify"));
        assert!(!verify_password("", &phc).expect("verify"));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password("the same password").expect("hash");
        let b = hash_password("the same password").expect("hash");
        assert_ne!(a, b, "fresh salt");
        assert!(verify_password("the same password", &a).expect("a"));
        assert!(verify_password("the same password", &b).expect("b"));
    }

    #[test]
    fn the_policy_refuses_short_long_and_blank_passwords() {
        for (password, error) in [
            ("", AccountsError::TooShort),
            ("elevenchars", AccountsError::TooShort),
            ("十一个字符的密码不够长", AccountsError::TooShort),
            (&" ".repeat(20), AccountsError::Blank),
            (&"x".repeat(MAX_PASSWORD_CHARS + 1), AccountsError::TooLong),
        ] {
            assert_eq!(check_password_policy(password), Err(error.clone()));
            let refused = hash_password(password).expect_err("refused");
            assert_eq!(refused.kind(), AccountsErrorKind::WeakPassword);
            assert_eq!(refused, error);
        }
        check_password_policy("twelve chars").expect("12 characters");
        check_password_policy("十二个字符的密码刚好够长").expect("counted in characters");
    }

    #[test]
    fn other_hashes_are_refused_without_quoting_them() {
        for phc in [
            "",
            "plaintext-password",
            "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$L6nRGbdhaK3Q6dhCmp7RIw",
            "$2b$12$abcdefghijklmnopqrstuu5Ou4VnWdSD6p4cOmxTvbvlaOGDbBh2",
        ] {
            let error = verify_password("any password here", phc).expect_err(phc);
            assert_eq!(
                error.kind(),
                AccountsErrorKind::InvalidHash,
                "{phc}: {error}"
            );
            if !phc.is_empty() {
                assert!(!error.to_string().contains(phc), "{error}");
            }
        }
    }

    #[test]
    fn tokens_are_random_and_stored_by_their_hash() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 43);
        assert!(
            a.token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(a.sha256, token_sha256(&a.token));
        assert_eq!(a.sha256.len(), 64);
        assert_ne!(a.sha256, b.sha256);
        assert!(!format!("{a:?}").contains(&a.token));
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
