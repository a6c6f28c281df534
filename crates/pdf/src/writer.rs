//! The append-only incremental writer (ISO 32000-2 §7.5.6): original bytes stay untouched, new
//! and changed objects follow with a cross-reference section of the same kind as the file's.

use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object};
use crate::reader::{Document, XrefKind};
use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};

/// Width of each number in the `/ByteRange` placeholder: enough for files up to 1 TB.
const BYTE_RANGE_DIGITS: usize = 12;

/// Trailer and cross-reference-stream keys that describe one section, not the document.
const STRUCTURAL_TRAILER_KEYS: &[&[u8]] = &[
    b"Size",
    b"Prev",
    b"XRefStm",
    b"Type",
    b"W",
    b"Index",
    b"Length",
    b"Filter",
    b"DecodeParms",
    b"F",
    b"FFilter",
    b"FDecodeParms",
    b"DL",
];

/// Objects to append in one incremental update.
pub struct Update {
    objects: BTreeMap<u32, (u16, Object)>,
    next_num: u32,
    /// The signature dictionary whose `/ByteRange` and `/Contents` are placeholders.
    signature: Option<(ObjRef, Dict, usize)>,
}

/// Where the signature hole lies in the written file; small and storable, so the signature
/// value may arrive much later (a phone confirmation) and still be embedded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreparedSignature {
    /// `[0, a, b, c]`: the signed bytes are `[0, a)` and `[b, b + c)`.
    pub byte_range: [u64; 4],
    /// Bytes of DER the `/Contents` hole can take.
    pub capacity: usize,
}

impl PreparedSignature {
    /// Writes the DER signature into the hole of an already written output.
    pub fn embed<W: Write + Seek>(&self, out: &mut W, der: &[u8]) -> Result<()> {
        if der.len() > self.capacity {
            return Err(Error::SignatureTooLarge { needed: der.len(), reserved: self.capacity });
        }
        let mut hex = Vec::with_capacity(der.len() * 2);
        for b in der {
            hex.extend_from_slice(format!("{b:02X}").as_bytes());
        }
        // Skip the '<' that opens the hex string.
        out.seek(std::io::SeekFrom::Start(self.byte_range[1] + 1))?;
        out.write_all(&hex)?;
        out.flush()?;
        Ok(())
    }
}

impl Update {
    /// An empty update to `doc`; new objects are numbered above every number the file defines
    /// or refers to (see [`Document::first_unreferenced_number`]).
    pub fn new<R: Read + Seek>(doc: &mut Document<R>) -> Result<Self> {
        Ok(Self { objects: BTreeMap::new(), next_num: doc.first_unreferenced_number()?, signature: None })
    }

    /// A fresh object number.
    pub fn alloc(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next_num, 0);
        self.next_num += 1;
        r
    }

    /// Adds or replaces object `r`.
    pub fn put(&mut self, r: ObjRef, obj: impl Into<Object>) {
        self.objects.insert(r.num, (r.generation, obj.into()));
    }

    pub fn put_new(&mut self, obj: impl Into<Object>) -> ObjRef {
        let r = self.alloc();
        self.put(r, obj);
        r
    }

    /// The object as this update will write it, if it writes it.
    pub fn get(&self, r: ObjRef) -> Option<&Object> {
        self.objects.get(&r.num).filter(|(g, _)| *g == r.generation).map(|(_, o)| o)
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.signature.is_none()
    }

    /// Reserves `r` as the signature dictionary `dict` plus a `/ByteRange` placeholder and a
    /// `/Contents` hole of `capacity` DER bytes.
    pub fn put_signature(&mut self, r: ObjRef, dict: Dict, capacity: usize) {
        self.signature = Some((r, dict, capacity));
    }

    /// Serialises the update as it will follow the original's `base_len` bytes. Returns the bytes
    /// and, when there is a signature, the offsets (within the bytes) of its placeholders.
    fn serialise<R: Read + Seek>(&self, doc: &mut Document<R>, base_len: u64, lead: &[u8]) -> Result<(Vec<u8>, Option<Holes>)> {
        let mut out = lead.to_vec();
        let mut offsets: BTreeMap<u32, (u16, u64)> = BTreeMap::new();
        let mut holes = None;
        let mut all: BTreeMap<u32, (u16, Option<&Object>)> = self.objects.iter().map(|(n, (g, o))| (*n, (*g, Some(o)))).collect();
        if let Some((r, _, _)) = &self.signature {
            all.insert(r.num, (r.generation, None));
        }
        for (num, (generation, obj)) in &all {
            offsets.insert(*num, (*generation, base_len + out.len() as u64));
            out.extend_from_slice(format!("{num} {generation} obj\n").as_bytes());
            match obj {
                Some(o) => o.write(&mut out),
                None => {
                    let (_, dict, capacity) = self.signature.as_ref().expect("signature slot");
                    holes = Some(write_signature_dict(dict, *capacity, &mut out));
                }
            }
            out.extend_from_slice(b"\nendobj\n");
        }
        let size = self.next_num.max(doc.next_object_number());
        // The added trailer repeats every entry of the previous one but the chain's own
        // bookkeeping (ISO 32000-2 §7.5.6); a hybrid section's /XRefStm belongs to that section.
        let mut trailer = Dict::new();
        for (key, value) in doc.trailer().iter() {
            if !STRUCTURAL_TRAILER_KEYS.contains(&key.as_slice()) {
                trailer.set(key, value.clone());
            }
        }
        if let Some(prev) = doc.last_xref_offset() {
            trailer.set(b"Prev", Object::Integer(prev as i64));
        }
        let xref_offset = base_len + out.len() as u64;
        match doc.xref_kind() {
            XrefKind::Table => {
                trailer.set(b"Size", Object::Integer(size as i64));
                out.extend_from_slice(b"xref\n");
                for run in runs(&offsets) {
                    out.extend_from_slice(format!("{} {}\n", run[0].0, run.len()).as_bytes());
                    for (_, (g, off)) in run {
                        out.extend_from_slice(format!("{off:010} {g:05} n\r\n").as_bytes());
                    }
                }
                out.extend_from_slice(b"trailer\n");
                trailer.write(&mut out);
                out.push(b'\n');
            }
            XrefKind::Stream => {
                let xref_num = size;
                offsets.insert(xref_num, (0, xref_offset));
                let mut rows = Vec::new();
                let mut index = Vec::new();
                for run in runs(&offsets) {
                    index.push(Object::Integer(run[0].0 as i64));
                    index.push(Object::Integer(run.len() as i64));
                    for (_, (g, off)) in run {
                        rows.push(1u8);
                        rows.extend_from_slice(&off.to_be_bytes()[3..]);
                        rows.extend_from_slice(&g.to_be_bytes());
                    }
                }
                trailer.set(b"Type", Object::name(b"XRef"));
                trailer.set(b"Size", Object::Integer(xref_num as i64 + 1));
                trailer.set(b"W", vec![Object::Integer(1), Object::Integer(5), Object::Integer(2)]);
                trailer.set(b"Index", Object::Array(index));
                out.extend_from_slice(format!("{xref_num} 0 obj\n").as_bytes());
                Object::Stream(crate::object::Stream::new(trailer, rows)).write(&mut out);
                out.extend_from_slice(b"\nendobj\n");
            }
        }
        out.extend_from_slice(format!("startxref\n{xref_offset}\n%%EOF\n").as_bytes());
        Ok((out, holes))
    }

    /// Streams the original file and then this update to `out`, feeding every byte that a
    /// signature covers to `signed` (nothing is fed when there is no signature). Returns the
    /// prepared signature hole, if the update has a signature.
    pub fn write<R: Read + Seek, W: Write>(
        &self,
        doc: &mut Document<R>,
        out: &mut W,
        signed: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<PreparedSignature>> {
        let base_len = doc.len();
        let lead: &[u8] = if doc.ends_with_eol()? { b"" } else { b"\n" };
        let (mut bytes, holes) = self.serialise(doc, base_len, lead)?;
        let prepared = holes.map(|h| {
            let total = base_len + bytes.len() as u64;
            let hole_start = base_len + h.contents_start as u64;
            let hole_end = base_len + h.contents_end as u64;
            let byte_range = [0, hole_start, hole_end, total - hole_end];
            let text = format!("[{} {} {} {}]", byte_range[0], byte_range[1], byte_range[2], byte_range[3]);
            let slot = &mut bytes[h.byte_range_start..h.byte_range_end];
            slot.fill(b' ');
            slot[..text.len()].copy_from_slice(text.as_bytes());
            PreparedSignature { byte_range, capacity: h.capacity }
        });
        let has_sig = prepared.is_some();
        doc.copy_range(0, base_len, &mut |chunk| {
            if has_sig {
                signed(chunk);
            }
            out.write_all(chunk).map_err(Error::Io)
        })?;
        if let Some(p) = prepared {
            let a = (p.byte_range[1] - base_len) as usize;
            let b = (p.byte_range[2] - base_len) as usize;
            signed(&bytes[..a]);
            signed(&bytes[b..]);
        }
        out.write_all(&bytes)?;
        out.flush()?;
        Ok(prepared)
    }
}

struct Holes {
    byte_range_start: usize,
    byte_range_end: usize,
    contents_start: usize,
    contents_end: usize,
    capacity: usize,
}

/// Writes the signature dictionary with fixed-width placeholders and returns where they are.
fn write_signature_dict(dict: &Dict, capacity: usize, out: &mut Vec<u8>) -> Holes {
    out.extend_from_slice(b"<<");
    let mut holes = Holes { byte_range_start: 0, byte_range_end: 0, contents_start: 0, contents_end: 0, capacity };
    for (k, v) in &dict.0 {
        if k.as_slice() == b"ByteRange" || k.as_slice() == b"Contents" {
            continue;
        }
        Object::Name(k.clone()).write(out);
        out.push(b' ');
        v.write(out);
    }
    out.extend_from_slice(b"/ByteRange ");
    holes.byte_range_start = out.len();
    let width = "[0 ]".len() + 3 * BYTE_RANGE_DIGITS + 2;
    out.extend(std::iter::repeat_n(b' ', width));
    holes.byte_range_end = out.len();
    out.extend_from_slice(b"/Contents ");
    holes.contents_start = out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', capacity * 2));
    out.push(b'>');
    holes.contents_end = out.len();
    out.extend_from_slice(b">>");
    holes
}

/// Groups consecutive object numbers into xref subsections.
fn runs(offsets: &BTreeMap<u32, (u16, u64)>) -> Vec<Vec<(u32, (u16, u64))>> {
    let mut out: Vec<Vec<(u32, (u16, u64))>> = Vec::new();
    for (n, v) in offsets {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|(m, _)| m + 1 == *n) => run.push((*n, *v)),
            _ => out.push(vec![(*n, *v)]),
        }
    }
    out
}

/// Rewrites a damaged document in full, object by object, with a clean cross-reference table.
/// Only for files with no signatures: every byte moves.
pub fn rewrite<R: Read + Seek, W: Write>(doc: &mut Document<R>, out: &mut W) -> Result<()> {
    if doc.has_signatures()? {
        return Err(Error::DamagedSigned(doc.repair_reason().unwrap_or("damaged cross-reference").to_string()));
    }
    let mut pos: u64 = 0;
    let emit = |out: &mut W, b: &[u8], pos: &mut u64| -> Result<()> {
        out.write_all(b)?;
        *pos += b.len() as u64;
        Ok(())
    };
    emit(out, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", &mut pos)?;
    let nums: Vec<u32> = doc.object_numbers().filter(|(_, e)| !matches!(e, crate::reader::XrefEntry::Free)).map(|(n, _)| n).collect();
    let mut offsets = BTreeMap::new();
    for num in nums {
        if num == 0 {
            continue;
        }
        let generation = match doc.entry(num) {
            Some(crate::reader::XrefEntry::InFile { generation, .. }) => generation,
            _ => 0,
        };
        let r = ObjRef::new(num, generation);
        let obj = doc.get(r)?;
        if let Object::Stream(s) = &obj
            && (s.dict.is_type(b"ObjStm") || s.dict.is_type(b"XRef"))
        {
            continue;
        }
        offsets.insert(num, (generation, pos));
        emit(out, format!("{num} {generation} obj\n").as_bytes(), &mut pos)?;
        match obj {
            Object::Stream(s) => {
                let (start, len) = s.span.unwrap_or((0, 0));
                let mut dict = s.dict.clone();
                dict.set(b"Length", Object::Integer(len as i64));
                let mut head = Vec::new();
                dict.write(&mut head);
                head.extend_from_slice(b"\nstream\n");
                emit(out, &head, &mut pos)?;
                doc.copy_range(start, start + len, &mut |chunk| out.write_all(chunk).map_err(Error::Io))?;
                pos += len;
                emit(out, b"\nendstream", &mut pos)?;
            }
            other => emit(out, &other.to_bytes(), &mut pos)?,
        }
        emit(out, b"\nendobj\n", &mut pos)?;
    }
    let size = offsets.keys().next_back().map(|n| n + 1).unwrap_or(1);
    let xref_at = pos;
    let mut xref = String::from("xref\n0 1\n0000000000 65535 f\r\n");
    for run in runs(&offsets) {
        xref.push_str(&format!("{} {}\n", run[0].0, run.len()));
        for (_, (g, off)) in run {
            xref.push_str(&format!("{off:010} {g:05} n\r\n"));
        }
    }
    emit(out, xref.as_bytes(), &mut pos)?;
    let mut trailer = Dict::new().with(b"Size", Object::Integer(size as i64));
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Some(v) = doc.trailer().get(key) {
            trailer.set(key, v.clone());
        }
    }
    let mut t = b"trailer\n".to_vec();
    trailer.write(&mut t);
    t.extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    emit(out, &t, &mut pos)?;
    out.flush()?;
    Ok(())
}
