//! The query language: terms separated by spaces are all required; `"a quoted phrase"` is one
//! term with its spaces; `-term` (or `-"phrase"`) excludes messages containing it; `from:ID`,
//! `room:ID`, `type:T`, `after:YYYY-MM-DD` and `before:YYYY-MM-DD` filter. Each term is a
//! substring (after [`crate::normalize`]); a filter given twice accepts either value (`from:a
//! from:b`), except the dates, where the later one wins. Dates are China time (UTC+8): `after:D` keeps
//! messages from the start of day D, `before:D` those before the start of day D.
//!
//! Parsing never panics and never interprets anything: a term is searched for literally, so
//! regex or SQL metacharacters are just characters.

use crate::normalize::normalize;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// The most terms (required and excluded) in one query.
pub const MAX_TERMS: usize = 32;

/// China time's offset from UTC.
pub(crate) const CHINA_OFFSET_MS: i64 = 8 * 3600 * 1000;

/// A parsed query. Terms are kept as written (folded when searched); filters are exact ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Substrings every hit contains (in its text, or its sender's or room's name).
    pub include: Vec<String>,
    /// Substrings no hit contains.
    pub exclude: Vec<String>,
    /// `from:` — the sender is one of these.
    pub from: Vec<String>,
    /// `room:` — the room is one of these.
    pub room: Vec<String>,
    /// `type:` — the msgtype is one of these.
    pub types: Vec<String>,
    /// `after:` — msgtime ≥ this (Unix ms).
    pub after_ms: Option<i64>,
    /// `before:` — msgtime < this (Unix ms).
    pub before_ms: Option<i64>,
}

impl ParsedQuery {
    /// Nothing to search for and nothing to filter by.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty()
            && self.exclude.is_empty()
            && self.from.is_empty()
            && self.room.is_empty()
            && self.types.is_empty()
            && self.after_ms.is_none()
            && self.before_ms.is_none()
    }
}

/// Why a query cannot be run. Each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is empty: give a word to search for (or a filter such as from:ID)")]
    Empty,
    #[error("the query is {chars} characters long; at most {max} are accepted")]
    TooLong { chars: usize, max: usize },
    #[error("the query has {terms} terms; at most {max} are accepted")]
    TooManyTerms { terms: usize, max: usize },
    #[error("a quote is not closed: write a phrase as \"two words\"")]
    UnbalancedQuote,
    #[error("`-` must be followed by the word to exclude, as in -退款")]
    LoneMinus,
    #[error("the quoted phrase is empty")]
    EmptyPhrase,
    #[error("`{key}:` needs a value, as in {example}")]
    EmptyFilter {
        key: &'static str,
        example: &'static str,
    },
    #[error("`{key}:` filters cannot be excluded with `-`")]
    NegatedFilter { key: &'static str },
    #[error("`{value}` is not a date: write {key}:YYYY-MM-DD (China time)")]
    BadDate { key: &'static str, value: String },
    #[error("unknown message type `{value}`; known types: {known}")]
    UnknownType { value: String, known: String },
}

/// The message types `type:` accepts: the typed payloads plus the types the archive stores
/// without one.
pub fn known_types() -> impl Iterator<Item = &'static str> {
    wecom_model::MSGTYPES.iter().copied()
}

/// Whether `t` is a message type `type:` accepts.
pub fn is_known_type(t: &str) -> bool {
    known_types().any(|k| k == t)
}

/// Checks a message type given outside the query string (an API parameter, a CLI option).
pub fn check_type(t: &str) -> Result<(), QueryError> {
    if is_known_type(t) {
        Ok(())
    } else {
        Err(QueryError::UnknownType {
            value: t.to_owned(),
            known: known_types().collect::<Vec<_>>().join(", "),
        })
    }
}

/// Midnight of a `YYYY-MM-DD` date in China time, as Unix ms.
pub fn china_midnight_ms(date: &str) -> Option<i64> {
    wecom_wire::text::parse_date(date).map(|secs| secs * 1000 - CHINA_OFFSET_MS)
}

/// Parses a query string.
pub fn parse(query: &str) -> Result<ParsedQuery, QueryError> {
    let chars = query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong {
            chars,
            max: MAX_QUERY_CHARS,
        });
    }
    let mut parsed = ParsedQuery::default();
    for word in split(query)? {
        add(&mut parsed, word)?;
    }
    let terms = parsed.include.len() + parsed.exclude.len();
    if terms > MAX_TERMS {
        return Err(QueryError::TooManyTerms {
            terms,
            max: MAX_TERMS,
        });
    }
    if parsed.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(parsed)
}

/// One space-separated piece of a query.
#[derive(Debug, PartialEq, Eq)]
struct Word {
    negated: bool,
    quoted: bool,
    text: String,
}

fn split(query: &str) -> Result<Vec<Word>, QueryError> {
    let mut words = Vec::new();
    let mut chars = query.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            break;
        };
        let negated = first == '-';
        if negated {
            chars.next();
            if chars.peek().is_none_or(|c| c.is_whitespace()) {
                return Err(QueryError::LoneMinus);
            }
        }
        if chars.next_if_eq(&'"').is_some() {
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => text.push(c),
                    None => return Err(QueryError::UnbalancedQuote),
                }
            }
            words.push(Word {
                negated,
                quoted: true,
                text,
            });
        } else {
            let mut text = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '"' {
                    return Err(QueryError::UnbalancedQuote);
                }
                text.push(c);
            }
            words.push(Word {
                negated,
                quoted: false,
                text,
            });
        }
    }
    Ok(words)
}

const FILTERS: &[(&str, &str)] = &[
    ("from", "from:zhangsan"),
    ("room", "room:wrXXXX"),
    ("type", "type:image"),
    ("after", "after:2026-01-01"),
    ("before", "before:2026-02-01"),
];

fn add(parsed: &mut ParsedQuery, word: Word) -> Result<(), QueryError> {
    if !word.quoted
        && let Some((key, value)) = word.text.split_once(':')
        && let Some(&(key, example)) = FILTERS.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))
    {
        if word.negated {
            return Err(QueryError::NegatedFilter { key });
        }
        if value.is_empty() {
            return Err(QueryError::EmptyFilter { key, example });
        }
        let date = |key| {
            china_midnight_ms(value).ok_or_else(|| QueryError::BadDate {
                key,
                value: value.to_owned(),
            })
        };
        match key {
            "from" => parsed.from.push(value.to_owned()),
            "room" => parsed.room.push(value.to_owned()),
            "type" => {
                check_type(value)?;
                parsed.types.push(value.to_owned());
            }
            "after" => parsed.after_ms = Some(date("after")?),
            _ => parsed.before_ms = Some(date("before")?),
        }
        return Ok(());
    }
    // A term that folds to nothing but a space (a quoted blank) cannot be searched for.
    let folded = normalize(&word.text);
    if word.quoted && folded.trim().is_empty() {
        return Err(QueryError::EmptyPhrase);
    }
    if word.negated {
        parsed.exclude.push(word.text);
    } else {
        parsed.include.push(word.text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> (Vec<String>, Vec<String>) {
        let p = parse(q).expect("a valid query");
        (p.include, p.exclude)
    }

    #[test]
    fn spaces_separate_required_terms_and_quotes_keep_a_phrase() {
        assert_eq!(
            terms("退款  保本 \"加我 微信\""),
            (
                vec!["退款".into(), "保本".into(), "加我 微信".into()],
                vec![]
            )
        );
    }

    #[test]
    fn minus_excludes_words_and_phrases() {
        assert_eq!(
            terms("理财 -保本 -\"私人 账户\""),
            (vec!["理财".into()], vec!["保本".into(), "私人 账户".into()])
        );
        // A minus inside a word is just a character.
        assert_eq!(terms("3-5个"), (vec!["3-5个".into()], vec![]));
    }

    #[test]
    fn filters_are_taken_out_of_the_terms() {
        let p = parse(
            "合同 FROM:zhangsan room:wr1 type:image from:lisi after:2026-01-01 before:2026-01-02",
        )
        .expect("valid");
        assert_eq!(p.include, vec!["合同".to_owned()]);
        assert_eq!(p.from, vec!["zhangsan".to_owned(), "lisi".to_owned()]);
        assert_eq!(p.room, vec!["wr1".to_owned()]);
        assert_eq!(p.types, vec!["image".to_owned()]);
        // 2026-01-01 00:00 China time is 2025-12-31 16:00 UTC.
        assert_eq!(p.after_ms, Some(1_767_196_800_000));
        assert_eq!(p.before_ms, Some(1_767_196_800_000 + 86_400_000));
        // A filter alone is a query.
        assert_eq!(
            parse("type:voice").expect("valid").types,
            vec!["voice".to_owned()]
        );
    }

    #[test]
    fn words_with_colons_that_are_not_filters_are_terms() {
        assert_eq!(
            terms("http://x.cn 时间:10点 \"from:x\""),
            (
                vec!["http://x.cn".into(), "时间:10点".into(), "from:x".into()],
                vec![]
            )
        );
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert_eq!(parse(""), Err(QueryError::Empty));
        assert_eq!(parse("   \t "), Err(QueryError::Empty));
        assert_eq!(parse("-"), Err(QueryError::LoneMinus));
        assert_eq!(parse("退款 - 保本"), Err(QueryError::LoneMinus));
        assert_eq!(parse("\"退款"), Err(QueryError::UnbalancedQuote));
        assert_eq!(parse("退\"款"), Err(QueryError::UnbalancedQuote));
        assert_eq!(parse("\"  \""), Err(QueryError::EmptyPhrase));
        assert!(matches!(
            parse("from:"),
            Err(QueryError::EmptyFilter { key: "from", .. })
        ));
        assert!(matches!(
            parse("-from:x"),
            Err(QueryError::NegatedFilter { key: "from" })
        ));
        assert!(matches!(
            parse("after:2026-02-30"),
            Err(QueryError::BadDate { key: "after", .. })
        ));
        assert!(matches!(
            parse("before:yesterday"),
            Err(QueryError::BadDate { key: "before", .. })
        ));
        assert!(matches!(
            parse("type:bogus"),
            Err(QueryError::UnknownType { .. })
        ));
        let long = "退".repeat(10_000);
        assert_eq!(
            parse(&long),
            Err(QueryError::TooLong {
                chars: 10_000,
                max: MAX_QUERY_CHARS
            })
        );
        let many = vec!["a"; 40].join(" ");
        assert!(matches!(
            parse(&many),
            Err(QueryError::TooManyTerms { terms: 40, .. })
        ));
    }

    #[test]
    fn metacharacters_are_literal() {
        assert_eq!(
            terms("%' OR 1=1 -- .* [a-z]+ \\d"),
            (
                vec![
                    "%'".into(),
                    "OR".into(),
                    "1=1".into(),
                    ".*".into(),
                    "[a-z]+".into(),
                    "\\d".into()
                ],
                vec!["-".into()]
            )
        );
    }
}
