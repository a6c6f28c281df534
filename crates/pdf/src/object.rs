//! PDF objects (ISO 32000-2 §7.3) and their serialisation.

use std::fmt::Write as _;

/// An indirect reference `num gen R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub generation: u16,
}

impl ObjRef {
    pub const fn new(num: u32, generation: u16) -> Self {
        Self { num, generation }
    }
}

impl std::fmt::Display for ObjRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} R", self.num, self.generation)
    }
}

/// How a string was (or will be) written; kept so rewritten objects look like their originals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringStyle {
    Literal,
    Hex,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Integer(i64),
    Real(f64),
    String(Vec<u8>, StringStyle),
    Name(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    Stream(Stream),
    Ref(ObjRef),
}

/// A dictionary that keeps its keys in file order, unknown keys included. A hash map underneath:
/// a dictionary of a million keys (a hostile file) costs linear time to read, not quadratic.
/// Equality ignores key order, as PDF semantics do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dict(pub indexmap::IndexMap<Vec<u8>, Object>);

/// A stream: its dictionary and its raw (still encoded) bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub dict: Dict,
    pub raw: Vec<u8>,
    /// Where the raw data lies in the source file (offset, length), for streams read lazily;
    /// `raw` is then empty unless it was asked for.
    pub span: Option<(u64, u64)>,
}

impl Stream {
    pub fn new(dict: Dict, raw: Vec<u8>) -> Self {
        Self { dict, raw, span: None }
    }
}

impl Dict {
    pub fn new() -> Self {
        Self(indexmap::IndexMap::new())
    }

    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.0.get_mut(key)
    }

    /// Sets `key`, replacing an existing entry in place so the key order is kept.
    pub fn set(&mut self, key: &[u8], value: impl Into<Object>) {
        let value = value.into();
        match self.0.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                self.0.insert(key.to_vec(), value);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Object)> {
        self.0.iter()
    }

    pub fn with(mut self, key: &[u8], value: impl Into<Object>) -> Self {
        self.set(key, value);
        self
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Object> {
        self.0.shift_remove(key)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    pub fn is_type(&self, ty: &[u8]) -> bool {
        self.name(b"Type") == Some(ty)
    }
}

impl Object {
    pub fn name(n: &[u8]) -> Self {
        Object::Name(n.to_vec())
    }

    /// A text string: PDFDocEncoding-safe ASCII stays literal, anything else becomes UTF-16BE with BOM.
    pub fn text(s: &str) -> Self {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            Object::String(s.as_bytes().to_vec(), StringStyle::Literal)
        } else {
            let mut bytes = vec![0xfe, 0xff];
            for unit in s.encode_utf16() {
                bytes.extend_from_slice(&unit.to_be_bytes());
            }
            Object::String(bytes, StringStyle::Hex)
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    pub fn as_dict_mut(&mut self) -> Option<&mut Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&mut s.dict),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Object::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Integer(i) => Some(*i as f64),
            Object::Real(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Object>> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Object::String(s, _) => Some(s),
            _ => None,
        }
    }

    /// Serialises the object in PDF syntax.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Object::Null => out.extend_from_slice(b"null"),
            Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Object::Real(r) => out.extend_from_slice(format_real(*r).as_bytes()),
            Object::String(s, StringStyle::Hex) => {
                out.push(b'<');
                let mut hex = String::with_capacity(s.len() * 2);
                for b in s {
                    let _ = write!(hex, "{b:02X}");
                }
                out.extend_from_slice(hex.as_bytes());
                out.push(b'>');
            }
            Object::String(s, StringStyle::Literal) => {
                out.push(b'(');
                for &b in s {
                    match b {
                        b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        _ => out.push(b),
                    }
                }
                out.push(b')');
            }
            Object::Name(n) => write_name(n, out),
            Object::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Object::Dict(d) => d.write(out),
            Object::Stream(s) => {
                let mut dict = s.dict.clone();
                dict.set(b"Length", Object::Integer(s.raw.len() as i64));
                dict.write(out);
                out.extend_from_slice(b"\nstream\n");
                out.extend_from_slice(&s.raw);
                out.extend_from_slice(b"\nendstream");
            }
            Object::Ref(r) => out.extend_from_slice(r.to_string().as_bytes()),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

impl Dict {
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<<");
        for (k, v) in &self.0 {
            write_name(k, out);
            out.push(b' ');
            v.write(out);
        }
        out.extend_from_slice(b">>");
    }
}

fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        if b.is_ascii_alphanumeric() || b"-_.+*:".contains(&b) || (b > b' ' && b < 0x7f && !is_delimiter(b) && b != b'#') {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

fn format_real(r: f64) -> String {
    if !r.is_finite() {
        return "0".into();
    }
    let s = format!("{r:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" || s == "-0" { "0".into() } else { s.into() }
}

pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

impl From<Dict> for Object {
    fn from(d: Dict) -> Self {
        Object::Dict(d)
    }
}
impl From<ObjRef> for Object {
    fn from(r: ObjRef) -> Self {
        Object::Ref(r)
    }
}
impl From<i64> for Object {
    fn from(i: i64) -> Self {
        Object::Integer(i)
    }
}
impl From<bool> for Object {
    fn from(b: bool) -> Self {
        Object::Bool(b)
    }
}
impl From<Vec<Object>> for Object {
    fn from(a: Vec<Object>) -> Self {
        Object::Array(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strings_use_utf16_for_vietnamese() {
        let o = Object::text("Hương");
        assert_eq!(o.to_bytes(), b"<FEFF004801B001A1006E0067>");
        assert_eq!(Object::text("Sig1").to_bytes(), b"(Sig1)");
    }

    #[test]
    fn names_and_reals_serialise() {
        assert_eq!(Object::name(b"A B").to_bytes(), b"/A#20B");
        assert_eq!(Object::Real(1.50).to_bytes(), b"1.5");
        assert_eq!(Object::Real(-0.0001).to_bytes(), b"-0.0001");
        assert_eq!(Object::Real(2.0).to_bytes(), b"2");
    }
}
