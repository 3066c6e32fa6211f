//! The one normalisation of searchable text, applied alike to what is indexed, to every query and
//! to the substring oracle the tests compare against: per character, Unicode compatibility
//! folding (NFKC: full-width Latin and digits become half-width, ligatures and circled forms
//! their plain letters), then lower case; every run of whitespace becomes one space.
//!
//! Folding is per character (never across characters), so each folded character knows the
//! original character it came from: snippets highlight the original text exactly.
//!
//! The contract search keeps: a message is a hit for a query term `q` when
//! `normalize(text).contains(normalize(q))`.

use unicode_normalization::UnicodeNormalization;

/// Changes whenever [`fold`] would fold any text differently; an index built with another
/// version is refused (and rebuilt).
pub const NORMALIZER_VERSION: u32 = 1;

/// Text folded for search: its characters and, for each, the byte offset of the original
/// character it came from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Folded {
    pub chars: Vec<char>,
    pub origin: Vec<usize>,
}

impl Folded {
    pub fn new(text: &str) -> Folded {
        let mut folded = Folded::default();
        fold(text, &mut folded.chars, Some(&mut folded.origin));
        folded
    }
}

/// Appends the folded characters of `text` to `out` (and, when asked, the byte offset in `text`
/// of each one's original character to `origin`).
pub fn fold(text: &str, out: &mut Vec<char>, mut origin: Option<&mut Vec<usize>>) {
    let mut space = false;
    for (at, c) in text.char_indices() {
        fold_char(c, |f| {
            if f.is_whitespace() {
                if space {
                    return;
                }
                space = true;
                out.push(' ');
            } else {
                space = false;
                out.push(f);
            }
            if let Some(origin) = origin.as_deref_mut() {
                origin.push(at);
            }
        });
    }
}

/// The folded form of `text` as a string.
pub fn normalize(text: &str) -> String {
    let mut chars = Vec::with_capacity(text.len());
    fold(text, &mut chars, None);
    chars.into_iter().collect()
}

fn fold_char(c: char, mut out: impl FnMut(char)) {
    if c.is_ascii() {
        out(c.to_ascii_lowercase());
    } else if is_plain_ideograph(c) {
        // CJK unified ideographs fold to themselves: the common case, kept off the tables.
        out(c);
    } else {
        for n in std::iter::once(c).nfkc() {
            for l in n.to_lowercase() {
                out(l);
            }
        }
    }
}

/// CJK Unified Ideographs (the basic block and extension A), which NFKC and lower-casing leave
/// alone.
fn is_plain_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_is_case_folded_and_full_width_becomes_half_width() {
        assert_eq!(normalize("ＡＢＣ１２３ Problem"), "abc123 problem");
        assert_eq!(normalize("ＶＩＰ客户"), "vip客户");
    }

    #[test]
    fn whitespace_runs_become_one_space() {
        assert_eq!(normalize("合同\n\n  已发\u{3000}邮箱\t"), "合同 已发 邮箱 ");
    }

    #[test]
    fn chinese_is_unchanged() {
        assert_eq!(normalize("加我微信，私人账户"), "加我微信,私人账户");
    }

    #[test]
    fn each_folded_character_knows_its_original() {
        let text = "Ａ合 B";
        let f = Folded::new(text);
        assert_eq!(f.chars, vec!['a', '合', ' ', 'b']);
        let originals: Vec<&str> = f
            .origin
            .iter()
            .map(|&at| {
                let c = text[at..].chars().next().expect("a char");
                &text[at..at + c.len_utf8()]
            })
            .collect();
        assert_eq!(originals, vec!["Ａ", "合", " ", "B"]);
    }

    #[test]
    fn a_character_may_fold_to_several() {
        // ㎏ (U+338F) folds to "kg": both come from the same original character.
        let f = Folded::new("5㎏");
        assert_eq!(f.chars, vec!['5', 'k', 'g']);
        assert_eq!(f.origin, vec![0, 1, 1]);
    }
}
