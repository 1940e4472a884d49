//! A minimal JSON writer: just enough for nlsel's output, so that no serialisation crate is
//! needed at run time. Strings are escaped per RFC 8259; bytes that are not UTF-8 (interface
//! names may hold any byte but NUL, '/', ':' and white space) become U+FFFD.

use std::fmt::Write as _;

/// Appends `bytes` as a JSON string literal.
pub fn push_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one object's members; `end` closes it.
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn begin(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_string(self.out, key.as_bytes());
        self.out.push(':');
        self.out
    }

    pub fn string(&mut self, key: &str, value: impl AsRef<[u8]>) -> &mut Self {
        let out = self.key(key);
        push_string(out, value.as_ref());
        self
    }

    pub fn display(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Self {
        self.string(key, value.to_string())
    }

    pub fn number(&mut self, key: &str, value: impl Into<u64>) -> &mut Self {
        let out = self.key(key);
        let _ = write!(out, "{}", value.into());
        self
    }

    pub fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        let out = self.key(key);
        out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A member whose value is JSON written by the caller.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        let out = self.key(key);
        out.push_str(json);
        self
    }

    pub fn end(self) {
        self.out.push('}');
    }
}

/// Joins already-written JSON values into an array.
pub fn array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        let mut out = String::new();
        push_string(&mut out, b"a\"b\\c\x01\xff");
        assert_eq!(out, "\"a\\\"b\\\\c\\u0001\u{fffd}\"");
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\u{1}\u{fffd}");
    }

    #[test]
    fn object_members_are_comma_separated() {
        let mut out = String::new();
        let mut object = Object::begin(&mut out);
        object
            .string("ifname", "eth0")
            .number("ifindex", 2u32)
            .boolean("dynamic", true);
        object.end();
        assert_eq!(out, r#"{"ifname":"eth0","ifindex":2,"dynamic":true}"#);
    }
}
