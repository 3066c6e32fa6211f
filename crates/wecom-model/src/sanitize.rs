//! Decrypted records can carry raw control characters inside JSON strings, which strict parsers
//! reject. We escape them (`\u00XX`) instead of stripping them, so no content is lost.

use std::borrow::Cow;

/// Escapes bytes below 0x20 that occur inside JSON string literals; everything else is untouched.
/// Control bytes outside strings are JSON whitespace or errors and are left for the parser to judge.
pub fn escape_control_chars(input: &[u8]) -> Cow<'_, [u8]> {
    let needs = {
        let mut in_string = false;
        let mut escaped = false;
        let mut found = false;
        for &b in input {
            if in_string {
                if escaped {
                    escaped = false;
                    // An escape followed by a raw control byte is still a raw control byte.
                    if b < 0x20 {
                        found = true;
                        break;
                    }
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                } else if b < 0x20 {
                    found = true;
                    break;
                }
            } else if b == b'"' {
                in_string = true;
            }
        }
        found
    };
    if !needs {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for &b in input {
        if in_string {
            if escaped {
                escaped = false;
                if b < 0x20 {
                    // `\` + raw control: make the backslash literal and escape the control byte.
                    out.push(b'\\');
                    push_escaped(&mut out, b);
                    continue;
                }
                out.push(b);
            } else if b == b'\\' {
                escaped = true;
                out.push(b);
            } else if b == b'"' {
                in_string = false;
                out.push(b);
            } else if b < 0x20 {
                push_escaped(&mut out, b);
            } else {
                out.push(b);
            }
        } else {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u00");
    out.push(HEX[(b >> 4) as usize]);
    out.push(HEX[(b & 0xF) as usize]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = escape_control_chars(input.as_bytes());
        assert_eq!(std::str::from_utf8(&got).expect("utf8"), expect);
    }

    #[test]
    fn escapes_only_inside_strings() {
        check("{\"a\":\"x\ty\"}", "{\"a\":\"x\\u0009y\"}");
        check("{\n\"a\" : 1}", "{\n\"a\" : 1}");
        check("{\"a\":\"\\\"\u{11}\"}", "{\"a\":\"\\\"\\u0011\"}");
        check("{\"a\":\"ok\"}", "{\"a\":\"ok\"}");
    }

    #[test]
    fn escaped_text_parses_and_keeps_the_control_characters() {
        let raw = "{\"content\":\"line1\nline2\u{13}\"}";
        let fixed = escape_control_chars(raw.as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&fixed).expect("valid json");
        assert_eq!(v["content"], "line1\nline2\u{13}");
    }

    #[test]
    fn backslash_before_raw_control_stays_lossless() {
        let raw = "{\"a\":\"x\\\ny\"}";
        let fixed = escape_control_chars(raw.as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&fixed).expect("valid json");
        assert_eq!(v["a"], "x\\\ny");
    }
}
