//! The index's tokenizers: every folded character (unigrams) and every pair of adjacent folded
//! characters (bigrams), each at its character position, for Chinese, Latin, digits and
//! punctuation alike. A one-character query is then a unigram lookup, a two-character query a
//! bigram lookup and a longer one a phrase of overlapping bigrams at their offsets: exactly
//! substring semantics, without a scan. (tantivy's own n-gram tokenizer puts every gram at
//! position 0, so it cannot express a phrase.)
//!
//! Spaces (every whitespace run is one after folding) are no unigram — a query term never is one —
//! but they take part in bigrams, so a quoted phrase with a space in it is found too.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::normalize::fold;

/// The name unigram fields are tokenized under.
pub(crate) const UNIGRAMS: &str = "wecom_uni";
/// The name bigram fields are tokenized under.
pub(crate) const BIGRAMS: &str = "wecom_bi";

/// Character n-grams (n = 1 or 2) of the folded text.
#[derive(Debug, Clone)]
pub(crate) struct CharGrams {
    n: usize,
    chars: Vec<char>,
}

impl CharGrams {
    pub(crate) fn unigrams() -> CharGrams {
        CharGrams {
            n: 1,
            chars: Vec::new(),
        }
    }

    pub(crate) fn bigrams() -> CharGrams {
        CharGrams {
            n: 2,
            chars: Vec::new(),
        }
    }
}

pub(crate) struct CharGramStream<'a> {
    n: usize,
    chars: &'a [char],
    next: usize,
    token: Token,
}

impl Tokenizer for CharGrams {
    type TokenStream<'a> = CharGramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CharGramStream<'a> {
        self.chars.clear();
        fold(text, &mut self.chars, None);
        CharGramStream {
            n: self.n,
            chars: &self.chars,
            next: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for CharGramStream<'_> {
    fn advance(&mut self) -> bool {
        while self.next + self.n <= self.chars.len() {
            let at = self.next;
            self.next += 1;
            let gram = &self.chars[at..at + self.n];
            if self.n == 1 && gram[0] == ' ' {
                continue;
            }
            self.token.text.clear();
            self.token.text.extend(gram);
            self.token.position = at;
            self.token.position_length = 1;
            // Offsets in characters of the folded text: snippets are made from the archive's text,
            // not from these.
            self.token.offset_from = at;
            self.token.offset_to = at + self.n;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(mut t: CharGrams, text: &str) -> Vec<(String, usize)> {
        let mut stream = t.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    #[test]
    fn unigrams_carry_character_positions_and_skip_spaces() {
        assert_eq!(
            grams(CharGrams::unigrams(), "退款 OK"),
            vec![
                ("退".into(), 0),
                ("款".into(), 1),
                ("o".into(), 3),
                ("k".into(), 4)
            ]
        );
    }

    #[test]
    fn bigrams_overlap_and_cross_spaces() {
        assert_eq!(
            grams(CharGrams::bigrams(), "加我 Ｗx"),
            vec![
                ("加我".into(), 0),
                ("我 ".into(), 1),
                (" w".into(), 2),
                ("wx".into(), 3)
            ]
        );
    }

    #[test]
    fn one_character_has_no_bigram() {
        assert!(grams(CharGrams::bigrams(), "款").is_empty());
        assert!(grams(CharGrams::unigrams(), "").is_empty());
    }
}
