//! The vendor library's own lenient base64 decoder, reproduced byte for byte (decrypt-data.md).

/// Why the vendor decoder cannot produce an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum B64Failure {
    /// More `=` characters than `3 * groups`: the real library aborts the process.
    NegativeLength,
    /// A byte >= 0x80 inside a decoded group: the real library reads outside its table (undefined
    /// behaviour); we refuse the input instead.
    NonAscii,
}

/// Value of each ASCII byte in the vendor table: the standard alphabet, everything else 0.
const TABLE: [u8; 128] = {
    let mut table = [0u8; 128];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The vendor library's own lenient base64 decoder (decrypt-data.md "The library's base64 decoder").
///
/// Every ASCII byte outside `A-Z a-z 0-9 + /` (including `=`, whitespace and `-`/`_`) decodes as 0;
/// `floor(len / 4)` groups are decoded and a trailing remainder is ignored; the output is the first
/// `3 * groups - n` decoded bytes, where `n` is the length of the run of `=` at the very END of the
/// input. (decrypt-data.md says "`=` anywhere"; a differential test against the genuine library —
/// 11,600 inputs, `crates/wecom-sdk/tests` — showed that only the trailing run counts and that an
/// interior `=` decodes like any other non-alphabet byte.)
///
/// Returns `None` where the real library would abort (negative output length, e.g. `"="` or `"===="`)
/// or for bytes >= 0x80 inside a decoded group (undefined behaviour in the real library).
pub fn lenient_b64_decode(input: &[u8]) -> Option<Vec<u8>> {
    decode(input).ok()
}

/// [`lenient_b64_decode`] with the reason for a failure.
pub(crate) fn decode(input: &[u8]) -> Result<Vec<u8>, B64Failure> {
    let groups = input.len() / 4;
    let equals = input.iter().rev().take_while(|&&b| b == b'=').count();
    let out_len = (groups * 3)
        .checked_sub(equals)
        .ok_or(B64Failure::NegativeLength)?;
    let read = input.get(..groups * 4).unwrap_or(input);
    if !read.is_ascii() {
        return Err(B64Failure::NonAscii);
    }
    let value = |byte: u8| u32::from(TABLE[usize::from(byte & 0x7f)]);
    let mut out = Vec::with_capacity(groups * 3);
    for group in read.chunks_exact(4) {
        if let &[a, b, c, d] = group {
            let word = (value(a) << 18) | (value(b) << 12) | (value(c) << 6) | value(d);
            let [_, b0, b1, b2] = word.to_be_bytes();
            out.extend_from_slice(&[b0, b1, b2]);
        }
    }
    out.truncate(out_len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn check(input: &str, expected: Option<&[u8]>) {
        assert_eq!(
            lenient_b64_decode(input.as_bytes()).as_deref(),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn behaves_like_the_vendor_decoder() {
        check("", Some(b""));
        check("QQ==", Some(b"A"));
        check("QUI=", Some(b"AB"));
        check("QUJD", Some(b"ABC"));
        // remainder ignored; only the trailing run of `=` counts
        check("QUJDRA", Some(b"ABC"));
        check("QUJDRA=", Some(b"AB"));
        check("QQ==A", Some(b"A\0\0"));
        check("QQ==A==", Some(b"A"));
        check("QUJD\n", Some(b"ABC"));
        // non-alphabet characters are zeros, never errors
        check("-_ .", Some(&[0, 0, 0]));
        // the vendor library aborts on these
        check("=", None);
        check("====", None);
        check("A=", None);
        check("AB=", None);
        check("==", None);
        // bytes >= 0x80 in a group are refused; in the ignored remainder they are never read
        check("QUJ\u{e9}", None);
        assert_eq!(
            lenient_b64_decode(b"QUJD\xff").as_deref(),
            Some(&b"ABC"[..])
        );
    }

    #[test]
    fn agrees_with_standard_base64_on_canonical_input() {
        for len in 0..64usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
            assert_eq!(lenient_b64_decode(encoded.as_bytes()), Some(data));
        }
    }
}
