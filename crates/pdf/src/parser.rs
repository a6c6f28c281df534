//! Object syntax (ISO 32000-2 §7.2–7.3) over a byte window.
//!
//! The parser works on a slice that may end before the object does: it then reports
//! [`ParseError::Incomplete`] and the caller retries with a larger window. Nesting depth is
//! bounded so hostile files cannot exhaust the stack.

use crate::object::{Dict, ObjRef, Object, StringStyle, is_delimiter, is_whitespace};

/// Deepest array/dictionary nesting accepted; real files stay far below it.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// The window ended inside the object.
    Incomplete,
    Syntax {
        pos: usize,
        what: &'static str,
    },
}

pub type PResult<T> = Result<T, ParseError>;

pub struct Parser<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
    /// True when `buf` ends where the file ends: running out of bytes is then a syntax error.
    pub at_eof: bool,
}

impl<'a> Parser<'a> {
    pub fn new(buf: &'a [u8], pos: usize, at_eof: bool) -> Self {
        Self { buf, pos, at_eof }
    }

    fn err<T>(&self, what: &'static str) -> PResult<T> {
        Err(ParseError::Syntax { pos: self.pos, what })
    }

    fn short<T>(&self, what: &'static str) -> PResult<T> {
        if self.at_eof { self.err(what) } else { Err(ParseError::Incomplete) }
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Skips white space and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Reads a bare token (keyword or number) without consuming delimiters.
    pub fn token(&mut self) -> PResult<&'a [u8]> {
        self.skip_ws();
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_whitespace(b) || is_delimiter(b) {
                break;
            }
            self.pos += 1;
        }
        if self.pos == self.buf.len() && !self.at_eof {
            return Err(ParseError::Incomplete);
        }
        Ok(&self.buf[start..self.pos])
    }

    pub fn expect_keyword(&mut self, kw: &[u8]) -> PResult<()> {
        let save = self.pos;
        let t = self.token()?;
        if t == kw {
            Ok(())
        } else {
            self.pos = save;
            self.err("expected keyword")
        }
    }

    pub fn unsigned(&mut self) -> PResult<u64> {
        let t = self.token()?;
        if t.is_empty() || !t.iter().all(u8::is_ascii_digit) || t.len() > 19 {
            return self.err("expected an unsigned integer");
        }
        Ok(std::str::from_utf8(t).ok().and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// Parses `num gen obj` and returns the reference.
    pub fn object_header(&mut self) -> PResult<ObjRef> {
        let num = self.unsigned()?;
        let generation = self.unsigned()?;
        self.expect_keyword(b"obj")?;
        if num > u32::MAX as u64 || generation > u16::MAX as u64 {
            return self.err("object number out of range");
        }
        Ok(ObjRef::new(num as u32, generation as u16))
    }

    /// Parses one direct object. Streams are not handled here (see `reader`).
    pub fn object(&mut self, depth: usize) -> PResult<Object> {
        if depth > MAX_DEPTH {
            return self.err("objects nested too deeply");
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return self.short("unexpected end of data");
        };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => self.literal_string(),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dict(self.dict_body(depth)?))
                } else if self.pos + 1 >= self.buf.len() {
                    self.short("unexpected end of data")
                } else {
                    self.hex_string()
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return self.short("unterminated array"),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        Some(_) => items.push(self.object(depth + 1)?),
                    }
                }
            }
            b')' | b'>' | b']' | b'{' | b'}' => self.err("unexpected delimiter"),
            _ => self.number_or_keyword(),
        }
    }

    fn dict_body(&mut self, depth: usize) -> PResult<Dict> {
        let mut dict = Dict::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return self.short("unterminated dictionary"),
                Some(b'>') => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(dict);
                    }
                    if self.pos + 1 >= self.buf.len() {
                        return self.short("unterminated dictionary");
                    }
                    return self.err("expected '>>'");
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name_body()?;
                    let value = self.object(depth + 1)?;
                    // A later duplicate key wins, as in most readers; keep one entry.
                    dict.set(&key, value);
                }
                Some(_) => return self.err("dictionary key is not a name"),
            }
        }
    }

    fn name_body(&mut self) -> PResult<Vec<u8>> {
        let mut name = Vec::new();
        while let Some(b) = self.peek() {
            if is_whitespace(b) || is_delimiter(b) {
                break;
            }
            if b == b'#' {
                let hex = self.buf.get(self.pos + 1..self.pos + 3);
                match hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
                    Some(v) => {
                        name.push(v);
                        self.pos += 3;
                        continue;
                    }
                    None if hex.is_none() && !self.at_eof => return Err(ParseError::Incomplete),
                    None => {}
                }
            }
            name.push(b);
            self.pos += 1;
        }
        if self.pos == self.buf.len() && !self.at_eof {
            return Err(ParseError::Incomplete);
        }
        Ok(name)
    }

    fn literal_string(&mut self) -> PResult<Object> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 1usize;
        loop {
            let Some(b) = self.peek() else {
                return self.short("unterminated string");
            };
            self.pos += 1;
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' => {
                    nesting -= 1;
                    if nesting == 0 {
                        return Ok(Object::String(out, StringStyle::Literal));
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.short("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = (e - b'0') as u32;
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + (d - b'0') as u32;
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(v as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> PResult<Object> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let Some(b) = self.peek() else {
                return self.short("unterminated hex string");
            };
            self.pos += 1;
            let v = match b {
                b'>' => {
                    if let Some(h) = high {
                        out.push(h << 4);
                    }
                    return Ok(Object::String(out, StringStyle::Hex));
                }
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ if is_whitespace(b) => continue,
                _ => return self.err("bad character in hex string"),
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }

    fn number_or_keyword(&mut self) -> PResult<Object> {
        let start = self.pos;
        let tok = self.token()?;
        match tok {
            b"true" => return Ok(Object::Bool(true)),
            b"false" => return Ok(Object::Bool(false)),
            b"null" => return Ok(Object::Null),
            _ => {}
        }
        if tok.is_empty() {
            return self.err("unexpected character");
        }
        let s = std::str::from_utf8(tok).map_err(|_| ParseError::Syntax { pos: start, what: "bad token" })?;
        if tok.iter().all(|b| b.is_ascii_digit()) {
            // Maybe `num gen R`.
            let after = self.pos;
            if let Ok(generation) = self.unsigned()
                && self.expect_keyword(b"R").is_ok()
            {
                let num: u64 = s.parse().unwrap_or(u64::MAX);
                if num <= u32::MAX as u64 && generation <= u16::MAX as u64 {
                    return Ok(Object::Ref(ObjRef::new(num as u32, generation as u16)));
                }
                return Err(ParseError::Syntax { pos: start, what: "object number out of range" });
            } else if !self.at_eof && self.pos >= self.buf.len() {
                return Err(ParseError::Incomplete);
            }
            self.pos = after;
        }
        if let Ok(i) = s.parse::<i64>() {
            return Ok(Object::Integer(i));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+') {
            // Tolerate forms like `-.5`, `4.` and the `--1` seen in the wild.
            let cleaned = s.trim_start_matches(['+', '-']);
            let neg = s.starts_with('-');
            if let Ok(v) = cleaned.parse::<f64>().or_else(|_| if cleaned == "." { Ok(0.0) } else { Err(()) }) {
                return Ok(Object::Real(if neg { -v } else { v }));
            }
        }
        Err(ParseError::Syntax { pos: start, what: "unknown keyword" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> PResult<Object> {
        Parser::new(s, 0, true).object(0)
    }

    #[test]
    fn parses_common_objects() {
        let o = parse(b"<</Type/Page/Kids[1 0 R 2 0 R]/N -3.5/S(a\\(b\\)\\101)/H<48 6>/X#20y true>>").unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(d.name(b"Type"), Some(&b"Page"[..]));
        assert_eq!(d.get(b"Kids").unwrap().as_array().unwrap()[1], Object::Ref(ObjRef::new(2, 0)));
        assert_eq!(d.get(b"N"), Some(&Object::Real(-3.5)));
        assert_eq!(d.get(b"S").unwrap().as_bytes(), Some(&b"a(b)A"[..]));
        assert_eq!(d.get(b"H").unwrap().as_bytes(), Some(&b"H`"[..]));
        assert_eq!(d.get(b"X y"), Some(&Object::Bool(true)));
    }

    #[test]
    fn reports_incomplete_windows_and_depth() {
        assert_eq!(Parser::new(b"<</A [1 2", 0, false).object(0), Err(ParseError::Incomplete));
        assert!(matches!(parse(b"<</A [1 2"), Err(ParseError::Syntax { .. })));
        let deep = vec![b'['; 10_000];
        assert!(matches!(parse(&deep), Err(ParseError::Syntax { what: "objects nested too deeply", .. })));
    }

    #[test]
    fn roundtrips_through_writer() {
        let src = b"<</A [1 0 R (x) <00FF>] /B << /C /D#23 >> /E null>>";
        let o = parse(src).unwrap();
        assert_eq!(parse(&o.to_bytes()).unwrap(), o);
    }
}
