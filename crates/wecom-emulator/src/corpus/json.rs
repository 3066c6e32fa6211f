//! A tiny hand-written JSON writer for record plaintexts.
//!
//! serde_json cannot produce what the real archive sends: raw control bytes inside strings (the
//! client must escape them, not drop them), a fixed key order matching the official examples, and
//! u64 values above i64::MAX written as bare numbers. Writing the text ourselves also keeps the
//! emulator's output independent of the serializer the client parses with.

use std::fmt::Write as _;

/// Builds one JSON object, keys in insertion order.
pub(crate) struct Obj {
    buf: String,
    first: bool,
}

impl Obj {
    pub(crate) fn new() -> Obj {
        Obj {
            buf: String::from("{"),
            first: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.buf.push(',');
        }
        self.first = false;
        push_str(&mut self.buf, key, false);
        self.buf.push(':');
    }

    /// A string value, fully escaped.
    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Obj {
        self.key(key);
        push_str(&mut self.buf, value, false);
        self
    }

    /// A string value whose control characters other than `\n`, `\r`, `\t` stay raw bytes, as the
    /// real archive sends them in chat text.
    pub(crate) fn raw_str(&mut self, key: &str, value: &str) -> &mut Obj {
        self.key(key);
        push_str(&mut self.buf, value, true);
        self
    }

    pub(crate) fn i64(&mut self, key: &str, value: i64) -> &mut Obj {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    pub(crate) fn u64(&mut self, key: &str, value: u64) -> &mut Obj {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    /// A float written with a fixed number of decimals (coordinates look like `116.586285899`).
    pub(crate) fn f64(&mut self, key: &str, value: f64, decimals: usize) -> &mut Obj {
        self.key(key);
        let _ = write!(self.buf, "{value:.decimals$}");
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Obj {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    pub(crate) fn str_array<S: AsRef<str>>(&mut self, key: &str, values: &[S]) -> &mut Obj {
        self.key(key);
        self.buf.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            push_str(&mut self.buf, v.as_ref(), false);
        }
        self.buf.push(']');
        self
    }

    /// A nested object value.
    pub(crate) fn obj(&mut self, key: &str, value: Obj) -> &mut Obj {
        self.key(key);
        self.buf.push_str(&value.finish());
        self
    }

    pub(crate) fn obj_array(&mut self, key: &str, values: Vec<Obj>) -> &mut Obj {
        self.key(key);
        self.buf.push('[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            self.buf.push_str(&v.finish());
        }
        self.buf.push(']');
        self
    }

    pub(crate) fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

fn push_str(out: &mut String, s: &str, raw_controls: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 && !raw_controls => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_escapes_and_big_numbers() {
        let mut inner = Obj::new();
        inner.raw_str("content", "a\"b\\c\nd\u{11}e/f");
        let mut o = Obj::new();
        o.str("msgid", "m")
            .u64("id", u64::MAX)
            .i64("t", -1)
            .f64("x", 116.5, 3)
            .bool("b", false)
            .str_array("l", &["x", "y"])
            .obj("text", inner);
        assert_eq!(
            o.finish(),
            "{\"msgid\":\"m\",\"id\":18446744073709551615,\"t\":-1,\"x\":116.500,\"b\":false,\"l\":[\"x\",\"y\"],\"text\":{\"content\":\"a\\\"b\\\\c\\nd\u{11}e/f\"}}"
        );
    }

    #[test]
    fn strict_strings_escape_control_characters() {
        let mut o = Obj::new();
        o.str("c", "\u{1}\u{1f}");
        assert_eq!(o.finish(), "{\"c\":\"\\u0001\\u001f\"}");
    }
}
