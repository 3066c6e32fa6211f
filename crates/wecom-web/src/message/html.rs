//! Writing HTML safely: markup only from `&'static str` literals, every value escaped.
//!
//! [`Out`] is the one way the message renderer writes: [`Out::tag`] and [`Out::raw`] take
//! literals only, [`Out::text`] and [`Out::attr`] escape whatever they are given, so text from a
//! message can never become markup.

use std::fmt::Write as _;

/// HTML being written.
#[derive(Debug, Default)]
pub(crate) struct Out {
    s: String,
}

impl Out {
    pub(crate) fn new() -> Out {
        Out::default()
    }

    pub(crate) fn finish(self) -> String {
        self.s
    }

    /// Markup from a literal.
    pub(crate) fn raw(&mut self, markup: &'static str) -> &mut Out {
        self.s.push_str(markup);
        self
    }

    /// Escaped text.
    pub(crate) fn text(&mut self, text: &str) -> &mut Out {
        escape_into(&mut self.s, text);
        self
    }

    /// ` name="value"`, the value escaped. Call between [`Out::open`] and [`Out::close`].
    pub(crate) fn attr(&mut self, name: &'static str, value: &str) -> &mut Out {
        self.s.push(' ');
        self.s.push_str(name);
        self.s.push_str("=\"");
        escape_into(&mut self.s, value);
        self.s.push('"');
        self
    }

    /// `<tag` (then attributes, then [`Out::close`]).
    pub(crate) fn open(&mut self, tag: &'static str) -> &mut Out {
        self.s.push('<');
        self.s.push_str(tag);
        self
    }

    /// Ends an opening tag.
    pub(crate) fn close(&mut self) -> &mut Out {
        self.s.push('>');
        self
    }

    /// `<tag class="class">`.
    pub(crate) fn tag(&mut self, tag: &'static str, class: &'static str) -> &mut Out {
        self.open(tag).attr("class", class).close()
    }

    /// `</tag>`.
    pub(crate) fn end(&mut self, tag: &'static str) -> &mut Out {
        self.s.push_str("</");
        self.s.push_str(tag);
        self.s.push('>');
        self
    }

    /// `<tag class="class">text</tag>`, the text escaped.
    pub(crate) fn el(&mut self, tag: &'static str, class: &'static str, text: &str) -> &mut Out {
        self.tag(tag, class).text(text).end(tag)
    }

    /// Text with `http(s)://` addresses made links (opened in a new tab, no referrer).
    pub(crate) fn linked_text(&mut self, text: &str) -> &mut Out {
        let mut rest = text;
        while let Some(at) = find_url(rest) {
            self.text(&rest[..at]);
            let url_len = rest[at..]
                .find(|c: char| c.is_whitespace() || URL_STOP.contains(&c))
                .unwrap_or(rest.len() - at);
            let url = rest[at..at + url_len].trim_end_matches(URL_TRAILING);
            self.open("a")
                .attr("href", url)
                .attr("rel", "noopener noreferrer nofollow")
                .attr("target", "_blank")
                .close()
                .text(url)
                .end("a");
            rest = &rest[at + url.len()..];
        }
        self.text(rest)
    }
}

/// Characters that end an address in running text (ASCII markup and CJK punctuation).
const URL_STOP: &[char] = &[
    '<', '>', '"', '\'', '`', '，', '。', '、', '；', '：', '！', '？', '（', '）', '【', '】',
    '「', '」', '“', '”',
];

/// Punctuation that ends a sentence rather than an address.
const URL_TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']'];

/// Where the next `http://` or `https://` address starts (with something after the scheme).
fn find_url(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("http") {
        let at = from + i;
        let tail = &s[at..];
        let scheme = if tail.starts_with("https://") {
            8
        } else if tail.starts_with("http://") {
            7
        } else {
            0
        };
        if scheme > 0
            && tail[scheme..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace() && !URL_STOP.contains(&c))
        {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// Escapes `&`, `<`, `>`, `"` and `'`.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes everything but unreserved characters: one URL path segment or query value.
pub fn url_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// China time (UTC+8, no daylight saving) of a Unix ms time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChinaTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Milliseconds of UTC+8.
const CHINA_OFFSET_MS: i64 = 8 * 3600 * 1000;

impl ChinaTime {
    pub fn of_ms(ms: i64) -> ChinaTime {
        let local = ms.saturating_add(CHINA_OFFSET_MS);
        let days = local.div_euclid(86_400_000);
        let in_day = local.rem_euclid(86_400_000) / 1000;
        let (year, month, day) = civil_from_days(days);
        ChinaTime {
            year,
            month,
            day,
            hour: (in_day / 3600) as u32,
            minute: (in_day / 60 % 60) as u32,
            second: (in_day % 60) as u32,
        }
    }

    /// The China day number (days since 1970-01-01 in UTC+8) of a Unix ms time.
    pub fn day_of_ms(ms: i64) -> i64 {
        ms.saturating_add(CHINA_OFFSET_MS).div_euclid(86_400_000)
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `HH:MM`.
    pub fn hm(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// `YYYY-MM-DD HH:MM:SS`.
    pub fn full(&self) -> String {
        format!(
            "{} {:02}:{:02}:{:02}",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// The Unix ms time China's day `YYYY-MM-DD` starts; `None` for anything else.
pub fn china_day_start_ms(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // Reject 2026-02-31 and the like: the day must come back as itself.
    if civil_from_days(days) != (year, month, day) {
        return None;
    }
    Some(days * 86_400_000 - CHINA_OFFSET_MS)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_links_are_made() {
        let mut o = Out::new();
        o.linked_text("见 https://a.example/x?y=1&z=<2> 和 <script>alert(1)</script>。");
        let html = o.finish();
        assert!(
            html.contains(
                "<a href=\"https://a.example/x?y=1&amp;z=\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">https://a.example/x?y=1&amp;z=</a>&lt;2&gt;"
            ),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"));
        let mut o = Out::new();
        o.linked_text("http:// alone, javascript:alert(1), (see http://b.example/p).");
        let html = o.finish();
        assert!(html.contains("href=\"http://b.example/p\""), "{html}");
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert_eq!(html.matches("<a ").count(), 1, "{html}");
    }

    #[test]
    fn attributes_cannot_be_broken_out_of() {
        let mut o = Out::new();
        o.open("a").attr("title", "\" onmouseover=\"x").close();
        assert_eq!(o.finish(), "<a title=\"&quot; onmouseover=&quot;x\">");
    }

    #[test]
    fn china_time_is_utc_plus_eight() {
        // 2026-01-01T00:00:00Z is 08:00 in China.
        let t = ChinaTime::of_ms(1_767_225_600_000);
        assert_eq!(t.full(), "2026-01-01 08:00:00");
        // 2025-12-31T16:00:00Z is the start of 2026-01-01 in China.
        assert_eq!(
            ChinaTime::of_ms(1_767_196_800_000).full(),
            "2026-01-01 00:00:00"
        );
        assert_eq!(china_day_start_ms("2026-01-01"), Some(1_767_196_800_000));
        assert_eq!(
            china_day_start_ms("2024-02-29").map(|ms| ChinaTime::of_ms(ms).date()),
            Some("2024-02-29".to_owned())
        );
        assert_eq!(china_day_start_ms("2026-02-30"), None);
        assert_eq!(china_day_start_ms("2026-13-01"), None);
        assert_eq!(china_day_start_ms("yesterday"), None);
        assert_eq!(ChinaTime::of_ms(-1).full(), "1970-01-01 07:59:59");
    }

    #[test]
    fn url_parts_are_one_segment() {
        assert_eq!(url_part("pair:alice|bob"), "pair%3Aalice%7Cbob");
        assert_eq!(url_part("a/b?c#d"), "a%2Fb%3Fc%23d");
    }
}
