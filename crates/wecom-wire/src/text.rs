//! Text that reaches an operator's terminal or log: server-provided strings (errmsg, names, ids,
//! message text) are shown with their control characters escaped, and URLs with their
//! credentials redacted. Only what is *shown* changes; the archive keeps every byte it received.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` must not reach a terminal as is: C0 controls (tab, newline and carriage return
/// included: they forge or overwrite lines), DEL, C1 controls (U+0080–U+009F; U+009B is an 8-bit
/// CSI on some terminals), the line and paragraph separators, and the bidirectional formatting
/// characters that reorder what is shown.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'
                ..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every [`is_unsafe_char`] written as an escape: `\n`, `\r`, `\t`, `\x1b` for the
/// other ASCII controls, `\u{9b}` beyond ASCII. An ANSI sequence `ESC [ 3 1 m` becomes the
/// harmless text `\x1b[31m`. Backslashes are left alone, so paths and ordinary text read as
/// before and escaping twice changes nothing.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut out, text);
    Cow::Owned(out)
}

fn write_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        if !is_unsafe_char(c) {
            out.write_char(c)?;
            continue;
        }
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if c.is_ascii() => write!(out, "\\x{:02x}", u32::from(c))?,
            c => write!(out, "\\u{{{:x}}}", u32::from(c))?,
        }
    }
    Ok(())
}

/// Displays a string with [`escape_controls`] applied, without allocating: for `format!` and for
/// log fields (`warn!(name = %Escaped(&name), …)`).
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

/// A URL as it may be shown: the password of its user info replaced by `***` (a user info
/// without a password is hidden whole, as it may itself be a token), control characters escaped.
/// Works on text that does not parse as a URL too (a malformed proxy setting is exactly what gets
/// printed in an error): everything between `scheme://` (or the start) and the last `@` is taken
/// for user info.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let shown = match rest.rfind('@') {
        Some(at) => {
            let (userinfo, host) = rest.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) if !user.is_empty() => format!("{scheme}{user}:***{host}"),
                _ => format!("{scheme}***{host}"),
            }
        }
        None => url.to_owned(),
    };
    escape_controls(&shown).into_owned()
}

/// `YYYY-MM-DD HH:MM:SS` of a count of seconds since 1970-01-01 00:00:00, with no zone applied
/// (add the zone's offset first: `+ 8 * 3600` for China time). Negative counts are dates before 1970.
pub fn datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since 1970-01-01 00:00:00 of midnight on a `YYYY-MM-DD` date, with no zone applied
/// (subtract the zone's offset for a zone: `- 8 * 3600` for China time); the inverse of
/// [`datetime`]. `None` unless it is a real date of the years 1970–9999 written exactly so.
pub fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year < 1970 || day < 1 || day > days_in_month {
        return None;
    }
    // Days since 1970-01-01 from a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_ansi_escapes_are_shown_escaped() {
        assert_eq!(escape_controls("plain 文本 \\ ok"), "plain 文本 \\ ok");
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("bad\x1b[31mred\r\nnext\tcol\x07\x7f"),
            "bad\\x1b[31mred\\r\\nnext\\tcol\\x07\\x7f"
        );
        assert_eq!(escape_controls("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}c\u{2028}"),
            "a\\u{202e}b\\u{2066}c\\u{2028}"
        );
        // Escaping is idempotent: the output has nothing left to escape.
        let once = escape_controls("x\x1b\r\u{85}").into_owned();
        assert_eq!(escape_controls(&once), once);
        assert_eq!(Escaped("a\x1bb").to_string(), "a\\x1bb");
        assert_eq!(format!("[{:>3}]", Escaped("\n")), "[\\n]");
    }

    #[test]
    fn dates_parse_back_to_their_seconds() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        for secs in [
            0_i64,
            951_782_400,
            1_700_000_000 / 86_400 * 86_400,
            4_107_542_400,
        ] {
            let shown = datetime(secs);
            assert_eq!(parse_date(&shown[..10]), Some(secs), "{shown}");
        }
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "2026/01/01",
            "1969-12-31",
            "２０２６-01-01",
            "2026-01-01x",
            "",
            "+026-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetimes_are_civil_dates() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(951_825_600), "2000-02-29 12:00:00");
        assert_eq!(datetime(1_796_516_486), "2026-12-06 00:21:26");
        assert_eq!(datetime(-1), "1969-12-31 23:59:59");
    }

    #[test]
    fn url_credentials_are_redacted_even_in_malformed_urls() {
        assert_eq!(
            redact_url("socks5h://u:secret@127.0.0.1:1080"),
            "socks5h://u:***@127.0.0.1:1080"
        );
        assert_eq!(
            redact_url("http://token-only@proxy:3128/"),
            "http://***@proxy:3128/"
        );
        assert_eq!(redact_url("http://127.0.0.1:3128"), "http://127.0.0.1:3128");
        // Not URLs at all, yet the password is gone.
        assert_eq!(
            redact_url("http://user:pa/ss@@host:port:x"),
            "http://user:***@host:port:x"
        );
        assert_eq!(redact_url("user:hunter2@host"), "user:***@host");
        assert_eq!(redact_url(":hunter2@host"), "***@host");
        assert_eq!(redact_url("http://u:p@h\x1b[2J"), "http://u:***@h\\x1b[2J");
        for s in [
            "http://user:hunter2@127.0.0.1:1:bad",
            "::not a proxy:hunter2@",
            "socks5h://a:hunter2@[::1",
        ] {
            assert!(!redact_url(s).contains("hunter2"), "{s}");
        }
    }
}
