//! Quoted replies. The archive has no quote field: a reply arrives as plain text in one of two
//! shapes, which we take apart so the store can link a reply to the message it quotes.
//!
//! * The archive's own: `这是一条引用/回复消息：` (or `This is a quote/reply:`), the quoted part in
//!   straight or curly quotes as `USER：` + newline + the quoted text, a line of dashes, the reply.
//!   The degenerate official example `这是一条引用/回复消息："\n------\n@nick777` has an empty quote.
//! * WeChat's: `「USER：QUOTE」` (or `"USER: QUOTE"`), a line of spaced dashes `- - - …`, the reply.
//!
//! The parser works on lines and byte offsets only (linear in the text, no regex), and never slices
//! inside a character.

use crate::identity::{IdKind, classify_id};

/// Which shape the quote came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteFormat {
    /// `这是一条引用/回复消息：…`
    Archive,
    /// `This is a quote/reply:…`
    ArchiveEnglish,
    /// `「USER：QUOTE」` and a spaced-dash rule.
    WeChat,
}

/// A quoted reply taken apart. Parts may be empty (the degenerate official example has no user and
/// no quoted text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quote {
    /// As written: usually a display name, sometimes an id.
    pub quoted_user: String,
    pub quoted_text: String,
    pub reply: String,
    pub format: QuoteFormat,
}

const HEADERS: &[(&str, QuoteFormat)] = &[
    ("这是一条引用/回复消息：", QuoteFormat::Archive),
    ("这是一条引用/回复消息:", QuoteFormat::Archive),
    ("this is a quote/reply:", QuoteFormat::ArchiveEnglish),
    ("this is a quote/reply：", QuoteFormat::ArchiveEnglish),
];

const OPENERS: &[char] = &['"', '“', '「', '”'];
const CLOSERS: &[char] = &['"', '”', '」', '“'];

/// A display name longer than this is more likely quoted text that happens to hold a colon.
const MAX_USER_CHARS: usize = 64;

/// Takes a quoted reply apart; `None` if `text` is not one.
pub fn parse_quote(text: &str) -> Option<Quote> {
    let trimmed = text.trim_start();
    let header = HEADERS.iter().find_map(|(h, format)| {
        let head = trimmed.get(..h.len())?;
        head.eq_ignore_ascii_case(h)
            .then(|| (&trimmed[h.len()..], *format))
    });
    let (body, format) = match header {
        Some((body, format)) => (body, format),
        None => (trimmed, QuoteFormat::WeChat),
    };
    let has_header = header.is_some();
    if !has_header && !body.starts_with(OPENERS) {
        return None;
    }

    // The quoted part may itself contain a rule (it may be a quote), the reply rarely does, so the
    // rule is the last dash line that follows a closing quote mark.
    let mut chosen: Option<(usize, usize, bool)> = None;
    let mut any_rule: Option<(usize, usize, bool)> = None;
    let mut start = 0;
    while start <= body.len() {
        let end = body[start..].find('\n').map_or(body.len(), |i| start + i);
        let next = if end < body.len() { end + 1 } else { end };
        if let Some(spaced) = dash_rule(&body[start..end]) {
            any_rule = Some((start, next, spaced));
            if body[..start].trim_end().ends_with(CLOSERS) {
                chosen = Some((start, next, spaced));
            }
        }
        if end >= body.len() {
            break;
        }
        start = next;
    }

    let (quoted, reply) = match (chosen, has_header) {
        (Some((rule_start, reply_start, spaced)), _) => {
            // Without a header only a 「 opening or WeChat's spaced rule makes this a quote, so a
            // plain message that happens to hold quotes and dashes is left alone.
            if !has_header && !body.starts_with('「') && !spaced {
                return None;
            }
            (&body[..rule_start], &body[reply_start..])
        }
        (None, true) => match any_rule {
            Some((rule_start, reply_start, _)) => (&body[..rule_start], &body[reply_start..]),
            // A header and no rule: all of it is the quote.
            None => (body, ""),
        },
        (None, false) => return None,
    };

    let (quoted_user, quoted_text) = split_user(unquote(quoted.trim()));
    Some(Quote {
        quoted_user: quoted_user.to_owned(),
        quoted_text: quoted_text.to_owned(),
        reply: reply.to_owned(),
        format,
    })
}

/// Whether `line` is a rule: at least three dashes, optionally separated by spaces, nothing else.
/// Returns whether it is WeChat's spaced kind.
fn dash_rule(line: &str) -> Option<bool> {
    let line = line.trim_matches(|c: char| c.is_whitespace());
    let mut dashes = 0;
    let mut spaced = false;
    for c in line.chars() {
        match c {
            '-' | '－' | '—' | '–' | '─' => dashes += 1,
            ' ' | '\u{3000}' => spaced = true,
            _ => return None,
        }
    }
    (dashes >= 3).then_some(spaced)
}

/// Removes one opening and one closing quote mark.
fn unquote(block: &str) -> &str {
    let block = block.strip_prefix(OPENERS).unwrap_or(block);
    block.strip_suffix(CLOSERS).unwrap_or(block)
}

/// `USER：QUOTE` (colon full- or half-width, the quote on the same line or the next) → parts; no
/// colon on the first line → no user.
fn split_user(inner: &str) -> (&str, &str) {
    let first_line = inner.split('\n').next().unwrap_or("");
    let colon = first_line
        .char_indices()
        .find(|(_, c)| *c == '：' || *c == ':');
    let Some((at, c)) = colon else {
        return ("", inner);
    };
    let user = inner[..at].trim();
    if user.chars().count() > MAX_USER_CHARS {
        return ("", inner);
    }
    let rest = &inner[at + c.len_utf8()..];
    let rest = rest.trim_start_matches([' ', '\u{3000}', '\t']);
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .unwrap_or(rest);
    (user, rest)
}

/// Whether a candidate message could be the one `quote` quotes, judged by text: with whitespace
/// and control characters removed (clients re-wrap and re-space quoted text) the candidate equals
/// or contains the quoted text (a quote of a quote shows only
/// part of it; a trailing ellipsis of a shortened quote is ignored). Display names cannot be
/// resolved here, so `candidate_from` only rules a candidate out when the quote names an
/// external or robot id (which is then exact) and that id differs. Time windows are the store's.
pub fn quote_matches(quote: &Quote, candidate_from: &str, candidate_text: &str) -> bool {
    let quoted = normalize(&quote.quoted_text);
    let quoted = quoted
        .strip_suffix("...")
        .or_else(|| quoted.strip_suffix('…'))
        .unwrap_or(&quoted)
        .trim_end();
    if quoted.is_empty() {
        return false;
    }
    let user = quote.quoted_user.trim();
    if matches!(classify_id(user), IdKind::External | IdKind::Robot)
        && !candidate_from.is_empty()
        && user != candidate_from
    {
        return false;
    }
    let candidate = normalize(candidate_text);
    !candidate.is_empty() && candidate.contains(quoted)
}

/// Drops whitespace and control characters (which clients may or may not keep when copying a
/// quote): Chinese text has no word spaces to lose, and the comparison is containment anyway.
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_rules() {
        assert_eq!(dash_rule("------"), Some(false));
        assert_eq!(dash_rule("- - - - - - - - - - - - - - -"), Some(true));
        assert_eq!(dash_rule("  ---\r"), Some(false));
        assert_eq!(dash_rule("--"), None);
        assert_eq!(dash_rule("-- x --"), None);
        assert_eq!(dash_rule(""), None);
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("  a \n\t b\u{11}c  "), "abc");
        assert_eq!(normalize(""), "");
    }
}
