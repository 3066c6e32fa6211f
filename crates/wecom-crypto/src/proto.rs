//! The two small protobuf messages of the vendor format, parsed with the C++ runtime's rules.
//!
//! Encoding goes through `prost`. Decoding is hand-written because `prost` is stricter than the C++
//! runtime the vendor library links: C++ skips a known field sent with another wire type (prost
//! rejects it) and accepts any 10th varint byte without a continuation bit (prost rejects values above
//! 1). Where the two differ, the vendor library's answer is the one we must give.

/// Depth of nested groups the C++ runtime accepts before failing (its default recursion limit).
const MAX_GROUP_DEPTH: u32 = 100;

/// One field value, as the wire carries it. Groups are skipped while iterating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// A varint of at most 10 bytes; bits above 64 are dropped, as in the C++ runtime.
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self.buf.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Tag: field number and wire type. A zero tag in the middle of the data fails the parse.
    fn tag(&mut self) -> Option<(u32, u8)> {
        let tag = self.varint()? as u32;
        if tag == 0 {
            return None;
        }
        Some((tag >> 3, (tag & 7) as u8))
    }

    /// The value after a tag of this wire type; `None` when the data is malformed. A start-group
    /// is skipped up to its matching end-group and reported as `Fixed` (no content we use).
    fn value(&mut self, field: u32, wire_type: u8, depth: u32) -> Option<Value<'a>> {
        match wire_type {
            0 => self.varint().map(Value::Varint),
            1 => self.take(8).map(|_| Value::Fixed),
            2 => {
                // The length is read as a 32-bit varint and must be a non-negative `int`.
                let len = self.varint()? as u32;
                let len = i32::try_from(len).ok()?;
                self.take(usize::try_from(len).ok()?).map(Value::Len)
            }
            3 => {
                let depth = depth + 1;
                if depth > MAX_GROUP_DEPTH {
                    return None;
                }
                loop {
                    let (inner, inner_type) = self.tag()?;
                    if inner_type == 4 {
                        return (inner == field).then_some(Value::Fixed);
                    }
                    self.value(inner, inner_type, depth)?;
                }
            }
            5 => self.take(4).map(|_| Value::Fixed),
            // 4 (an end-group with no group open), 6 and 7 are parse failures.
            _ => None,
        }
    }
}

/// Calls `visit(field_number, value)` for every top-level field in order; `None` if the bytes are not
/// a message the C++ runtime's `ParseFromString` accepts.
pub(crate) fn for_each_field<'a>(
    buf: &'a [u8],
    mut visit: impl FnMut(u32, Value<'a>),
) -> Option<()> {
    let mut reader = Reader { buf, pos: 0 };
    while !reader.at_end() {
        let (field, wire_type) = reader.tag()?;
        let value = reader.value(field, wire_type, 0)?;
        visit(field, value);
    }
    Some(())
}

/// A proto2 `int32` read from a varint: the low 32 bits, as the C++ runtime does.
pub(crate) fn int32(value: u64) -> i32 {
    value as u32 as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Option<Vec<(u32, Value<'_>)>> {
        let mut out = Vec::new();
        for_each_field(buf, |f, v| out.push((f, v)))?;
        Some(out)
    }

    #[test]
    fn accepts_what_the_cpp_runtime_accepts() {
        assert_eq!(fields(b""), Some(vec![]));
        assert_eq!(
            fields(&[0x08, 0x96, 0x01]),
            Some(vec![(1, Value::Varint(150))])
        );
        // -1 as a 10-byte varint, and a 10th byte above 1 (prost would reject it)
        let minus_one = [
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert_eq!(
            int32(match fields(&minus_one).expect("parses")[0].1 {
                Value::Varint(v) => v,
                _ => unreachable!(),
            }),
            -1
        );
        let big_tenth = [
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert!(fields(&big_tenth).is_some());
        // a group, skipped whole
        assert_eq!(
            fields(&[0x1b, 0x08, 0x01, 0x1c, 0x08, 0x02]),
            Some(vec![(3, Value::Fixed), (1, Value::Varint(2))])
        );
        // fixed32 / fixed64
        assert!(fields(&[0x0d, 1, 2, 3, 4, 0x09, 1, 2, 3, 4, 5, 6, 7, 8]).is_some());
    }

    #[test]
    fn rejects_what_the_cpp_runtime_rejects() {
        for bad in [
            &[0x00][..],   // zero tag
            &[0x08],       // varint missing
            &[0x08, 0x80], // truncated varint
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x01,
            ], // 11 bytes
            &[0x0a, 0x05, 0x01], // length past the end
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // negative length
            &[0x0c],       // end-group without a group
            &[0x0b, 0x14], // end-group of another field
            &[0x0b],       // group never closed
            &[0x0e],       // wire type 6
            &[0x0f],       // wire type 7
            &[0x0d, 1, 2], // short fixed32
        ] {
            assert_eq!(fields(bad), None, "{bad:02x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x0b, 101)
            .chain(std::iter::repeat_n(0x0c, 101))
            .collect();
        assert_eq!(fields(&deep), None);
        let ok: Vec<u8> = std::iter::repeat_n(0x0b, 100)
            .chain(std::iter::repeat_n(0x0c, 100))
            .collect();
        assert!(fields(&ok).is_some());
    }
}
