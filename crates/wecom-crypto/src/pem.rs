//! A small PEM reader and writer that sees every block, so key errors can name what was found.
//!
//! General-purpose PEM parsers skip labels they do not know (`RSA PUBLIC KEY`, `ENCRYPTED PRIVATE
//! KEY`) and stumble on RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`); to say "encrypted key not
//! supported" or "this is an EC key" we need to see those blocks. Lines are trimmed first, so keys
//! pasted with indentation (e.g. in a TOML multi-line string) or CRLF line ends parse too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One `-----BEGIN label-----` … `-----END label-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) label: String,
    /// The block has RFC 1421 headers saying it is encrypted (`Proc-Type: 4,ENCRYPTED`).
    pub(crate) encrypted: bool,
    /// The base64 body, not yet decoded.
    body: String,
}

/// Why a PEM text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PemError {
    /// `-----BEGIN X-----` without its `-----END X-----`.
    Unterminated(String),
}

impl Block {
    /// The DER bytes of the block; `None` if its body is not base64.
    pub(crate) fn der(&self) -> Option<Vec<u8>> {
        STANDARD.decode(self.body.as_bytes()).ok()
    }
}

/// Every PEM block in `text`, in order. Text outside blocks is ignored.
pub(crate) fn blocks(text: &str) -> Result<Vec<Block>, PemError> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.split(['\n', '\r']).map(str::trim) {
        match current.as_mut() {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|rest| rest.strip_suffix("-----"))
                {
                    current = Some(Block {
                        label: label.trim().to_owned(),
                        encrypted: false,
                        body: String::new(),
                    });
                }
            }
            Some(block) => {
                if let Some(label) = line
                    .strip_prefix("-----END ")
                    .and_then(|rest| rest.strip_suffix("-----"))
                {
                    if label.trim() == block.label {
                        out.extend(current.take());
                    }
                } else if let Some((name, value)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("Proc-Type") && value.contains("ENCRYPTED")
                    {
                        block.encrypted = true;
                    }
                } else {
                    block
                        .body
                        .extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
                }
            }
        }
    }
    match current {
        Some(block) => Err(PemError::Unterminated(block.label)),
        None => Ok(out),
    }
}

/// `der` as a PEM block with 64-character lines and a final newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_with_headers_indentation_and_crlf() {
        let text = "junk\r\n  -----BEGIN RSA PRIVATE KEY-----\r\n  Proc-Type: 4,ENCRYPTED\r\n  DEK-Info: AES-128-CBC,00\r\n\r\n  QUJD\r\n  REVG\r\n  -----END RSA PRIVATE KEY-----\r\n-----BEGIN X-----\nQQ==\n-----END X-----";
        let blocks = blocks(text).expect("parses");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "RSA PRIVATE KEY");
        assert!(blocks[0].encrypted);
        assert_eq!(blocks[0].der().as_deref(), Some(&b"ABCDEF"[..]));
        assert_eq!(blocks[1].label, "X");
        assert!(!blocks[1].encrypted);
        assert_eq!(blocks[1].der().as_deref(), Some(&b"A"[..]));
    }

    #[test]
    fn reports_unterminated_blocks_and_round_trips() {
        assert_eq!(
            blocks("-----BEGIN PRIVATE KEY-----\nQUJD\n"),
            Err(PemError::Unterminated("PRIVATE KEY".into()))
        );
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("PUBLIC KEY", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        let blocks = blocks(&text).expect("parses");
        assert_eq!(blocks[0].der(), Some(der));
    }
}
