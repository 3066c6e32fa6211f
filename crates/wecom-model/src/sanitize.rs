//! Decrypted records can carry raw control characters inside JSON strings, which strict parsers
//! reject. We escape them (`\u00XX`) instead of stripping them, so no content is lost. Likewise an
//! invalid escape (`\x`, a short `\u12`, a lone surrogate from a cut emoji) is made literal text
//! rather than rejected.

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

/// Makes invalid escapes inside JSON string literals literal text by escaping their backslash:
/// `\x` → `\\x`, `\u` without four hex digits → `\\u`, a lone surrogate `\ud83d` → `\\ud83d`.
/// Valid escapes and everything outside strings are untouched; the text then parses to a string
/// that shows exactly what was sent. Run after [`escape_control_chars`].
pub fn repair_json_escapes(input: &str) -> Cow<'_, str> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut changed = false;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
                i += 1;
            }
            b'\\' => {
                let valid = match bytes.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                    Some(b'u') => unicode_escape_len(bytes, i),
                    _ => 0,
                };
                if valid == 0 {
                    // Keep the backslash as text; what follows is read as ordinary characters.
                    out.extend_from_slice(b"\\\\");
                    changed = true;
                    i += 1;
                } else {
                    out.extend_from_slice(&bytes[i..i + valid]);
                    i += valid;
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    if !changed {
        return Cow::Borrowed(input);
    }
    // Only ASCII was inserted, at ASCII positions, so this cannot fail; fall back to the input
    // rather than panic if it ever did.
    String::from_utf8(out).map_or(Cow::Borrowed(input), Cow::Owned)
}

/// Length of the valid `\uXXXX` (6) or surrogate pair `\uXXXX\uXXXX` (12) escape at `at`, or 0.
fn unicode_escape_len(bytes: &[u8], at: usize) -> usize {
    let Some(first) = hex4(bytes, at + 2) else {
        return 0;
    };
    match first {
        0xD800..=0xDBFF => {
            let pair = bytes.get(at + 6) == Some(&b'\\')
                && bytes.get(at + 7) == Some(&b'u')
                && hex4(bytes, at + 8).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low));
            if pair { 12 } else { 0 }
        }
        0xDC00..=0xDFFF => 0,
        _ => 6,
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let mut v = 0;
    for &d in digits {
        v = v * 16 + char::from(d).to_digit(16)?;
    }
    Some(v)
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

    fn repair(input: &str, expect: &str) {
        assert_eq!(repair_json_escapes(input), expect);
    }

    #[test]
    fn invalid_escapes_become_literal_text() {
        repair(r#"{"a":"x\qy"}"#, r#"{"a":"x\\qy"}"#);
        repair(r#"{"a":"\u12"}"#, r#"{"a":"\\u12"}"#);
        repair(r#"{"a":"cut \ud83d"}"#, r#"{"a":"cut \\ud83d"}"#);
        repair(r#"{"a":"\udc00x"}"#, r#"{"a":"\\udc00x"}"#);
        repair(r#"{"a":"\"#, r#"{"a":"\\"#);
        // Valid escapes, pairs and text outside strings are untouched.
        repair(
            r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} \x"#,
            r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} \x"#,
        );
        let v: serde_json::Value =
            serde_json::from_str(&repair_json_escapes(r#"{"a":"\ud83d!\q"}"#)).expect("json");
        assert_eq!(v["a"], "\\ud83d!\\q");
    }

    #[test]
    fn backslash_before_raw_control_stays_lossless() {
        let raw = "{\"a\":\"x\\\ny\"}";
        let fixed = escape_control_chars(raw.as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&fixed).expect("valid json");
        assert_eq!(v["a"], "x\\\ny");
    }
}
