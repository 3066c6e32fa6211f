//! Realistic chat text ([`TextStyle::Realistic`]): messages composed word by word from the
//! vocabulary with a Zipf law (the word of rank r drawn with probability ∝ 1/r), so frequent words
//! are frequent and rare words rare, as a full-text index meets them. Mostly short lines, some
//! medium ones, ~2% long multi-paragraph messages; English, mixed Chinese–Latin text, numbers,
//! upper-case and full-width Latin.

use std::fmt::Write as _;

use rand::Rng;

use super::vocabulary::{CHINESE, ENGLISH, ENGLISH_ENDS, FULL_WIDTH, MIXED, SENTENCE_ENDS};

/// What the chat messages of a corpus say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextStyle {
    /// Whole lines drawn uniformly from a small phrase bank: the corpora every existing seed
    /// produces, unchanged.
    #[default]
    Phrases,
    /// Messages composed from a vocabulary of a few hundred words with realistic word frequencies
    /// and lengths (see the module documentation); for search benchmarks.
    Realistic,
}

/// Draws the words of one list by rank, with probability ∝ 1/rank^s.
struct Zipf {
    words: &'static [&'static str],
    /// Running sums of the weights; the last is the total.
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(words: &'static [&'static str], s: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(s);
                total
            })
            .collect();
        Zipf { words, cumulative }
    }

    fn rank(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.words.len().saturating_sub(1))
    }

    fn word(&self, rng: &mut impl Rng) -> &'static str {
        self.words.get(self.rank(rng)).copied().unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Short,
    Medium,
    Long,
}

/// Composes messages; holds the precomputed rank tables.
pub(super) struct Composer {
    chinese: Zipf,
    english: Zipf,
    mixed: Zipf,
    full_width: Zipf,
    sentence_ends: Zipf,
    english_ends: Zipf,
}

impl Composer {
    pub(super) fn new() -> Composer {
        Composer {
            chinese: Zipf::new(CHINESE, 1.0),
            english: Zipf::new(ENGLISH, 1.0),
            mixed: Zipf::new(MIXED, 0.9),
            full_width: Zipf::new(FULL_WIDTH, 0.7),
            sentence_ends: Zipf::new(SENTENCE_ENDS, 1.5),
            english_ends: Zipf::new(ENGLISH_ENDS, 1.5),
        }
    }

    /// A whole chat message: ~80% short (2–30 characters), ~18% medium (30–200), ~2% long
    /// (200–2000, several sentences over several lines).
    pub(super) fn message(&self, rng: &mut impl Rng) -> String {
        let length = match rng.random_range(0..1000) {
            0..20 => Length::Long,
            20..200 => Length::Medium,
            _ => Length::Short,
        };
        self.compose(rng, length)
    }

    /// A line inside a forwarded chat record or a mixed message: short or medium.
    pub(super) fn line(&self, rng: &mut impl Rng) -> String {
        let length = if rng.random_bool(0.8) {
            Length::Short
        } else {
            Length::Medium
        };
        self.compose(rng, length)
    }

    fn compose(&self, rng: &mut impl Rng, length: Length) -> String {
        // Squaring skews each band towards its short end.
        let u: f64 = rng.random();
        let target = match length {
            Length::Short => 2 + (28.0 * u * u) as usize,
            Length::Medium => 30 + (170.0 * u * u) as usize,
            Length::Long => 200 + (1800.0 * u * u) as usize,
        };
        let long = length == Length::Long;
        if rng.random_bool(0.07) {
            return self.english_text(rng, target, long);
        }
        // Per mille of Latin tokens: most messages have a few, some switch language often.
        let latin = if rng.random_bool(0.15) { 220 } else { 45 };
        self.chinese_text(rng, target, long, latin)
    }

    /// Chinese text with `latin` per mille of English words, mixed tokens and numbers.
    fn chinese_text(&self, rng: &mut impl Rng, target: usize, long: bool, latin: u32) -> String {
        let mut out = String::with_capacity(target * 3 + 8);
        let mut chars = 0;
        let mut clause = 0;
        let mut clause_len = rng.random_range(2..=6);
        let mut item = 1;
        while chars < target {
            let before = out.len();
            let x = rng.random_range(0..1000);
            if x < latin {
                let word = match rng.random_range(0..100) {
                    0..50 => Some(self.english.word(rng)),
                    50..75 => Some(self.mixed.word(rng)),
                    _ => None,
                };
                match word {
                    Some(word) => {
                        separate(rng, &mut out, word.chars().next().unwrap_or(' '));
                        latin_word(rng, &mut out, word);
                    }
                    None => {
                        separate(rng, &mut out, '0');
                        number(rng, &mut out);
                    }
                }
            } else if x < latin + 8 {
                out.push_str(self.full_width.word(rng));
            } else {
                out.push_str(self.chinese.word(rng));
            }
            chars += out[before..].chars().count();
            clause += 1;
            if clause >= clause_len && chars < target {
                clause = 0;
                clause_len = rng.random_range(2..=6);
                if rng.random_bool(0.3) {
                    out.push_str(self.sentence_ends.word(rng));
                    if long && rng.random_bool(0.35) {
                        out.push('\n');
                        if rng.random_bool(0.2) {
                            out.push('\n');
                        } else if rng.random_bool(0.15) {
                            let _ = write!(out, "{item}、");
                            item += 1;
                        }
                    }
                } else {
                    out.push('，');
                }
                chars += 1;
            }
        }
        if rng.random_bool(0.5) {
            out.push_str(self.sentence_ends.word(rng));
        }
        out
    }

    /// English sentences of 3–12 words, the first capitalised.
    fn english_text(&self, rng: &mut impl Rng, target: usize, long: bool) -> String {
        let mut out = String::with_capacity(target + 8);
        let mut sentence = 0;
        let mut sentence_len = rng.random_range(3..=12);
        while out.len() < target {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            match rng.random_range(0..100) {
                0..4 => number(rng, &mut out),
                4..8 => {
                    let word = self.mixed.word(rng);
                    latin_word(rng, &mut out, word);
                }
                _ => {
                    let word = self.english.word(rng);
                    if sentence == 0 {
                        let mut chars = word.chars();
                        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                        out.push_str(chars.as_str());
                    } else {
                        latin_word(rng, &mut out, word);
                    }
                }
            }
            sentence += 1;
            if sentence >= sentence_len {
                sentence = 0;
                sentence_len = rng.random_range(3..=12);
                out.push_str(self.english_ends.word(rng));
                if long && rng.random_bool(0.3) {
                    out.push('\n');
                }
            } else if rng.random_bool(0.06) {
                out.push(',');
            }
        }
        if sentence > 0 {
            out.push_str(self.english_ends.word(rng));
        }
        out
    }
}

/// Separates a Latin token starting with `next` from what precedes it: always from Latin, now
/// and then from Chinese (people type both ways).
fn separate(rng: &mut impl Rng, out: &mut String, next: char) {
    let prev_latin = out
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if (prev_latin && next.is_ascii_alphanumeric()) || (!out.is_empty() && rng.random_bool(0.2)) {
        out.push(' ');
    }
}

/// A Latin word as typed: mostly as listed, sometimes in capitals, rarely in full width.
fn latin_word(rng: &mut impl Rng, out: &mut String, word: &str) {
    match rng.random_range(0..100) {
        0..5 => out.extend(word.chars().map(|c| c.to_ascii_uppercase())),
        5..7 => out.extend(word.chars().map(full_width)),
        _ => out.push_str(word),
    }
}

/// A number as chat has them: amounts, rates, dates, times, masked phone numbers.
fn number(rng: &mut impl Rng, out: &mut String) {
    let _ = match rng.random_range(0..10) {
        0..3 => write!(out, "{}", rng.random_range(1..1000)),
        3 => write!(out, "{}万", rng.random_range(1..=500)),
        4 => write!(out, "{}元", rng.random_range(100..100_000)),
        5 => write!(
            out,
            "{}.{:02}%",
            rng.random_range(0..10),
            rng.random_range(0..100)
        ),
        6 => write!(
            out,
            "{}月{}号",
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        ),
        7 => write!(
            out,
            "{}:{:02}",
            rng.random_range(8..=21),
            rng.random_range(0..60)
        ),
        8 => write!(out, "138****{:04}", rng.random_range(0..10_000)),
        _ => {
            let n: u32 = rng.random_range(1..100_000);
            out.extend(n.to_string().chars().map(full_width));
            Ok(())
        }
    };
}

/// The full-width form of a printable ASCII character (U+FF01–U+FF5E); others unchanged.
fn full_width(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn messages(n: usize) -> Vec<String> {
        let composer = Composer::new();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        (0..n).map(|_| composer.message(&mut rng)).collect()
    }

    #[test]
    fn frequent_words_are_far_more_frequent_than_rare_ones() {
        let texts = messages(20_000);
        let count = |word: &str| texts.iter().map(|t| t.matches(word).count()).sum::<usize>();
        // "客户" (rank 8) vs the last, rarest Chinese entry; "account" (rank 14) vs an English
        // word of rank ~150, which a 1/r law makes ten times rarer.
        let frequent = count("客户");
        let rarest = count(CHINESE[CHINESE.len() - 1]);
        let rare_english = count("subrogation");
        assert!(rarest > 0, "the tail still occurs");
        assert!(rare_english > 0, "the English tail still occurs");
        assert!(
            frequent > 30 * rarest,
            "{frequent} vs {rarest}: not skewed enough"
        );
        let account = count("account");
        assert!(account > 4 * rare_english, "{account} vs {rare_english}");
    }

    #[test]
    fn lengths_are_mostly_short_with_a_few_long_multiline_messages() {
        let texts = messages(20_000);
        let lengths: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
        let short = lengths.iter().filter(|n| **n <= 32).count();
        let long: Vec<&String> = texts.iter().filter(|t| t.chars().count() >= 200).collect();
        assert!(short > texts.len() * 7 / 10, "{short} short");
        assert!(
            (texts.len() / 100..texts.len() / 25).contains(&long.len()),
            "{} long",
            long.len()
        );
        assert!(long.iter().any(|t| t.contains('\n')), "line breaks");
        assert!(lengths.iter().all(|n| *n >= 1));
        assert!(lengths.iter().any(|n| *n > 1500));
    }

    #[test]
    fn english_mixed_upper_case_full_width_and_digits_occur() {
        let texts = messages(5_000);
        let any = |f: &dyn Fn(&String) -> bool| texts.iter().filter(|t| f(t)).count();
        assert!(any(&|t| t.is_ascii() && t.contains(' ')) > 100, "English");
        let cjk = |c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c);
        assert!(
            any(&|t| t.chars().any(cjk) && t.chars().any(|c| c.is_ascii_lowercase())) > 100,
            "mixed"
        );
        assert!(any(&|t| t.contains("VIP客户")) > 0);
        assert!(
            any(&|t| t.chars().any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c))) > 20,
            "full width"
        );
        assert!(
            any(&|t| t
                .split(' ')
                .any(|w| w.len() > 2 && w.bytes().all(|b| b.is_ascii_uppercase())))
                > 20,
            "upper case words"
        );
        assert!(
            any(&|t| t.bytes().any(|b| b.is_ascii_digit())) > 100,
            "digits"
        );
    }

    #[test]
    fn full_width_maps_printable_ascii_only() {
        assert_eq!(
            "A1%z".chars().map(full_width).collect::<String>(),
            "Ａ１％ｚ"
        );
        assert_eq!(full_width(' '), ' ');
        assert_eq!(full_width('中'), '中');
    }
}
