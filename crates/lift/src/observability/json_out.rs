//! Writing JSON strings into a line buffer, fast for the common case.
//!
//! Log lines and EMF documents are mostly strings that need no escaping (ids, names, paths).
//! Checking a whole string for the three kinds of byte that need escaping is a branch-free loop
//! the compiler vectorises; when none is found the string is copied in one go. Anything else
//! goes through `serde_json`'s escaper.

/// Whether any byte of the chunk needs a JSON escape (`"`, `\` or a control character).
fn any_escape(chunk: &[u8]) -> bool {
    chunk.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Append `s` as a JSON string literal.
pub(crate) fn write_str(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if bytes.chunks(64).any(any_escape) {
        // Serialising a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, s);
        return;
    }
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(bytes);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::write_str;

    #[test]
    fn matches_serde_json_for_plain_and_escaped_strings() {
        for s in [
            "",
            "plain /users/{id}",
            "quote \" here",
            "back\\slash",
            "nl\nand\ttab",
            "ünïcödé ✓",
            &"x".repeat(200),
            &format!("{}\"", "y".repeat(130)),
        ] {
            let mut ours = Vec::new();
            write_str(&mut ours, s);
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }
}
