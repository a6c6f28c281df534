//! A lazy PDF reader: it reads the cross-reference chain first and parses objects on demand, so
//! memory depends on the objects touched, not on the file's size.

use crate::error::{Error, Result};
use crate::filter;
use crate::object::{Dict, ObjRef, Object, Stream};
use crate::parser::{ParseError, Parser};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};

/// Largest single object (dictionary, not stream data) we are willing to parse.
const MAX_OBJECT_WINDOW: usize = 64 << 20;
/// Longest revision chain followed; real files have a handful.
const MAX_REVISIONS: usize = 4096;
/// How far a damaged `startxref` may miss its target before we give up and rebuild.
const XREF_SLACK: u64 = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefEntry {
    Free,
    InFile { offset: u64, generation: u16 },
    InObjStm { stream: u32, index: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XrefKind {
    Table,
    Stream,
}

/// One cross-reference section of the chain, newest first in [`Document::revisions`].
#[derive(Clone, Debug)]
pub struct Revision {
    /// Where its xref section starts (what `startxref` names).
    pub xref_offset: u64,
    pub kind: XrefKind,
    pub trailer: Dict,
}

/// A PDF opened for reading and appending.
pub struct Document<R> {
    src: R,
    len: u64,
    xref: BTreeMap<u32, XrefEntry>,
    pub(crate) trailer: Dict,
    revisions: Vec<Revision>,
    /// Why the cross-reference data had to be rebuilt by scanning, if it had to.
    repair_reason: Option<String>,
    /// A table row that is not the standard 20-byte form: lenient readers cope, strict ones refuse.
    irregular_xref: bool,
    header_version: String,
    /// Hybrid-reference sections (a table plus `/XRefStm`) were read.
    hybrid: bool,
    /// Objects that a table-only (PDF 1.4) reader and a stream-aware (PDF 1.5) reader would
    /// resolve differently: a parser differential. Empty for ordinary hybrid files.
    xref_disagreements: Vec<XrefDisagreement>,
    objstm_cache: HashMap<u32, std::rc::Rc<Vec<(u32, usize)>>>,
    objstm_data: HashMap<u32, std::rc::Rc<Vec<u8>>>,
    /// Asked before every object is read: true stops the work (the client hung up, a deadline
    /// passed, the server is shutting down).
    interrupt: Option<Interrupt>,
}

/// A check that long work calls between steps; `true` means stop.
pub type Interrupt = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// One object that readers of a hybrid-reference file would see differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XrefDisagreement {
    pub object: u32,
    /// What a reader of the tables alone finds.
    pub table_reader: XrefEntry,
    /// What a reader of tables and `/XRefStm` streams finds.
    pub stream_reader: XrefEntry,
}

/// One cross-reference section as read: its table (or stream) entries, and for a hybrid table
/// the entries of the stream its `/XRefStm` names.
struct Section {
    entries: Vec<(u32, XrefEntry)>,
    hidden: Vec<(u32, XrefEntry)>,
}

impl<R: Read + Seek> Document<R> {
    pub fn open(mut src: R) -> Result<Self> {
        let len = src.seek(SeekFrom::End(0))?;
        let mut doc = Document {
            src,
            len,
            xref: BTreeMap::new(),
            trailer: Dict::new(),
            revisions: Vec::new(),
            repair_reason: None,
            irregular_xref: false,
            header_version: String::new(),
            hybrid: false,
            xref_disagreements: Vec::new(),
            objstm_cache: HashMap::new(),
            objstm_data: HashMap::new(),
            interrupt: None,
        };
        doc.read_header()?;
        match doc.read_xref_chain() {
            Ok(()) => {
                if let Err(why) = doc.check_xref() {
                    doc.rebuild(why)?;
                }
            }
            Err(e) => doc.rebuild(e.to_string())?,
        }
        if doc.trailer.contains(b"Encrypt") {
            return Err(Error::Encrypted);
        }
        match doc.trailer.get(b"Root") {
            Some(Object::Ref(_)) => {}
            _ => return Err(Error::malformed("the trailer has no /Root (document catalog)")),
        }
        let root = doc.catalog()?;
        if !root.contains(b"Pages") {
            return Err(Error::malformed("the document catalog has no /Pages"));
        }
        Ok(doc)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn trailer(&self) -> &Dict {
        &self.trailer
    }

    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    pub fn header_version(&self) -> &str {
        &self.header_version
    }

    /// Whether the file uses hybrid references (tables whose trailers name an `/XRefStm`), the
    /// PDF 1.5 compatibility layout every Microsoft Word export has.
    pub fn is_hybrid(&self) -> bool {
        self.hybrid
    }

    /// Objects a table-only reader and a stream-aware reader resolve to different objects (or
    /// one of them to nothing, where the other finds an object the tables define). Word's layout,
    /// where the stream only adds objects the tables do not define, gives none.
    pub fn xref_disagreements(&self) -> &[XrefDisagreement] {
        &self.xref_disagreements
    }

    /// Why the cross-reference data was rebuilt, when it was: such a file must be rewritten
    /// in full before an incremental update can be trusted by every reader.
    pub fn repair_reason(&self) -> Option<&str> {
        self.repair_reason.as_deref()
    }

    /// The kind of cross-reference the newest section uses; an update keeps it.
    pub fn xref_kind(&self) -> XrefKind {
        self.revisions.first().map(|r| r.kind).unwrap_or(XrefKind::Table)
    }

    pub fn last_xref_offset(&self) -> Option<u64> {
        self.revisions.first().map(|r| r.xref_offset)
    }

    /// One past the highest object number the cross-reference data and `/Size` account for.
    pub fn next_object_number(&self) -> u32 {
        let from_xref = self.xref.keys().next_back().map(|n| n + 1).unwrap_or(1);
        let from_size = self.trailer.get(b"Size").and_then(Object::as_i64).unwrap_or(0).clamp(0, u32::MAX as i64) as u32;
        from_xref.max(from_size).max(1)
    }

    /// One past the highest object number anything in the file defines *or refers to*: the
    /// first number an update may give a new object. A reference to an object that does not
    /// exist (LibreOffice's trailer `/AdditionalStreams` without the stream, say) must stay
    /// dangling: an update that "filled" it would change what a signed revision means, and
    /// validators rightly report that. Reads every object once (stream data is not loaded).
    pub fn first_unreferenced_number(&mut self) -> Result<u32> {
        fn highest(o: &Object, depth: usize) -> u32 {
            if depth > 64 {
                return 0;
            }
            match o {
                Object::Ref(r) => r.num,
                Object::Array(a) => a.iter().map(|x| highest(x, depth + 1)).max().unwrap_or(0),
                Object::Dict(d) => d.iter().map(|(_, v)| highest(v, depth + 1)).max().unwrap_or(0),
                Object::Stream(s) => s.dict.iter().map(|(_, v)| highest(v, depth + 1)).max().unwrap_or(0),
                _ => 0,
            }
        }
        let mut top = self.next_object_number().saturating_sub(1);
        for r in &self.revisions {
            top = top.max(highest(&Object::Dict(r.trailer.clone()), 0));
        }
        let live: Vec<(u32, u16)> = self
            .xref
            .iter()
            .filter_map(|(n, e)| match e {
                XrefEntry::InFile { generation, .. } => Some((*n, *generation)),
                XrefEntry::InObjStm { .. } => Some((*n, 0)),
                XrefEntry::Free => None,
            })
            .collect();
        for (num, generation) in live {
            // An unreadable object refers to nothing we can know of; the reader reports it
            // where it matters.
            if let Ok(o) = self.get(ObjRef::new(num, generation)) {
                top = top.max(highest(&o, 0));
            }
        }
        Ok(top.saturating_add(1).max(1))
    }

    /// The cross-reference entry of object `num`, as a PDF 1.5 reader resolves it.
    pub fn entry(&self, num: u32) -> Option<XrefEntry> {
        self.xref.get(&num).copied()
    }

    pub fn object_numbers(&self) -> impl Iterator<Item = (u32, XrefEntry)> + '_ {
        self.xref.iter().map(|(n, e)| (*n, *e))
    }

    pub fn into_inner(self) -> R {
        self.src
    }

    fn read_at(&mut self, pos: u64, max: usize) -> Result<Vec<u8>> {
        let n = max.min(self.len.saturating_sub(pos) as usize);
        let mut buf = vec![0; n];
        self.src.seek(SeekFrom::Start(pos))?;
        self.src.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Runs `f` on a window starting at `pos`, growing it while the parser asks for more.
    fn parse_at<T>(&mut self, pos: u64, mut f: impl FnMut(&mut Parser) -> Result<T, ParseError>) -> Result<T> {
        let mut window = 4096usize;
        loop {
            let buf = self.read_at(pos, window)?;
            let at_eof = pos + buf.len() as u64 >= self.len;
            let mut p = Parser::new(&buf, 0, at_eof);
            match f(&mut p) {
                Ok(v) => return Ok(v),
                Err(ParseError::Incomplete) if !at_eof && window < MAX_OBJECT_WINDOW => window *= 4,
                Err(ParseError::Incomplete) => {
                    return Err(Error::malformed(format!("object at byte {pos} is larger than {MAX_OBJECT_WINDOW} bytes")));
                }
                Err(ParseError::Syntax { pos: at, what }) => {
                    return Err(Error::malformed(format!("{what} at byte {}", pos + at as u64)));
                }
            }
        }
    }

    fn read_header(&mut self) -> Result<()> {
        let head = self.read_at(0, 1024)?;
        let Some(at) = head.windows(5).position(|w| w == b"%PDF-") else {
            return Err(Error::NotPdf("no %PDF- header in the first 1024 bytes".into()));
        };
        let v: String = head[at + 5..].iter().take_while(|b| b.is_ascii_digit() || **b == b'.').map(|&b| b as char).collect();
        self.header_version = v;
        Ok(())
    }

    fn find_startxref(&mut self) -> Result<u64> {
        let tail_len = 2048.min(self.len);
        let tail = self.read_at(self.len - tail_len, tail_len as usize)?;
        let Some(at) = tail.windows(9).rposition(|w| w == b"startxref") else {
            return Err(Error::malformed("no startxref at the end of the file"));
        };
        let mut p = Parser::new(&tail, at + 9, true);
        p.unsigned().map_err(|_| Error::malformed("startxref is not followed by an offset"))
    }

    fn read_xref_chain(&mut self) -> Result<()> {
        let mut offset = self.find_startxref()?;
        let mut seen = HashSet::new();
        let mut first = true;
        let mut sections = Vec::new();
        let result = loop {
            if !seen.insert(offset) || self.revisions.len() >= MAX_REVISIONS {
                break Err(Error::malformed("the /Prev chain of cross-reference sections loops"));
            }
            let (start, kind) = self.locate_xref(offset)?;
            let (entries, trailer) = match kind {
                XrefKind::Table => self.read_xref_table(start)?,
                XrefKind::Stream => self.read_xref_stream(start)?,
            };
            let mut section = Section { entries, hidden: Vec::new() };
            if kind == XrefKind::Table
                && let Some(stm) = trailer.get(b"XRefStm").and_then(Object::as_i64)
            {
                // Hybrid section: a 1.5 reader takes the stream's entries after the table's.
                self.hybrid = true;
                section.hidden = self.read_xref_stream(stm.max(0) as u64)?.0;
            }
            sections.push(section);
            if first {
                self.trailer = trailer.clone();
                first = false;
            } else {
                for (k, v) in &trailer.0 {
                    if !self.trailer.contains(k) && k.as_slice() != b"Prev" && k.as_slice() != b"XRefStm" {
                        self.trailer.set(k, v.clone());
                    }
                }
            }
            let prev = trailer.get(b"Prev").and_then(Object::as_i64);
            self.revisions.push(Revision { xref_offset: start, kind, trailer });
            match prev {
                Some(p) if p >= 0 && (p as u64) < self.len => offset = p as u64,
                Some(_) => break Err(Error::malformed("/Prev points outside the file")),
                None => break Ok(()),
            }
        };
        result?;
        self.merge_sections(&sections);
        Ok(())
    }

    /// Builds the map a PDF 1.5 reader uses (newest section first; in a hybrid section the
    /// table, then its stream) and compares it with what a table-only reader would use.
    fn merge_sections(&mut self, sections: &[Section]) {
        let mut table_only: BTreeMap<u32, XrefEntry> = BTreeMap::new();
        for s in sections {
            for &(num, entry) in &s.entries {
                self.xref.entry(num).or_insert(entry);
                table_only.entry(num).or_insert(entry);
            }
            for &(num, entry) in &s.hidden {
                self.xref.entry(num).or_insert(entry);
            }
        }
        if !self.hybrid {
            return;
        }
        let real = |e: &XrefEntry| !matches!(e, XrefEntry::Free);
        let mut found: BTreeMap<u32, XrefDisagreement> = BTreeMap::new();
        for (&num, old) in table_only.iter().filter(|(n, e)| **n != 0 && real(e)) {
            let new = self.xref.get(&num).copied().unwrap_or(XrefEntry::Free);
            if new != *old {
                found.insert(num, XrefDisagreement { object: num, table_reader: *old, stream_reader: new });
            }
        }
        // Within one hybrid section, a stream entry that contradicts the table's: readers that
        // prefer the stream would see another object.
        for s in sections.iter().filter(|s| !s.hidden.is_empty()) {
            let table: HashMap<u32, XrefEntry> = s.entries.iter().copied().collect();
            for &(num, hidden) in &s.hidden {
                if let Some(t) = table.get(&num)
                    && num != 0
                    && real(t)
                    && hidden != *t
                {
                    found.entry(num).or_insert(XrefDisagreement { object: num, table_reader: *t, stream_reader: hidden });
                }
            }
        }
        self.xref_disagreements = found.into_values().collect();
    }

    /// Finds the xref section near `offset`, tolerating small misses (off-by-one `startxref`).
    fn locate_xref(&mut self, offset: u64) -> Result<(u64, XrefKind)> {
        let from = offset.saturating_sub(XREF_SLACK);
        let buf = self.read_at(from, (2 * XREF_SLACK + 64) as usize)?;
        let rel = (offset - from) as usize;
        let mut candidates: Vec<usize> = (0..buf.len()).collect();
        candidates.sort_by_key(|&i| (i as i64 - rel as i64).abs());
        for i in candidates {
            if buf[i..].starts_with(b"xref") && (i == 0 || !buf[i - 1].is_ascii_alphanumeric()) {
                return Ok((from + i as u64, XrefKind::Table));
            }
            if buf[i].is_ascii_digit() && (i == 0 || !buf[i - 1].is_ascii_digit()) {
                let mut p = Parser::new(&buf, i, false);
                if p.object_header().is_ok() {
                    return Ok((from + i as u64, XrefKind::Stream));
                }
            }
        }
        Err(Error::malformed(format!("startxref points at byte {offset}, where there is no cross-reference section")))
    }

    fn read_xref_table(&mut self, start: u64) -> Result<(Vec<(u32, XrefEntry)>, Dict)> {
        let mut irregular = false;
        let (entries, trailer) = self.parse_at(start, |p| {
            irregular = false;
            p.expect_keyword(b"xref")?;
            let mut entries = Vec::new();
            loop {
                p.skip_ws();
                let save = p.pos;
                if p.token()? == b"trailer" {
                    break;
                }
                p.pos = save;
                let first = p.unsigned()?;
                let count = p.unsigned()?;
                if count > 10_000_000 || first > u32::MAX as u64 {
                    return Err(ParseError::Syntax { pos: p.pos, what: "implausible xref subsection" });
                }
                for i in 0..count {
                    p.skip_ws();
                    let row_start = p.pos;
                    let offset = p.unsigned()?;
                    if p.pos - row_start != 10 {
                        irregular = true;
                    }
                    let generation = p.unsigned()?;
                    let kind = p.token()?;
                    let entry = match kind {
                        b"n" => XrefEntry::InFile { offset, generation: generation.min(u16::MAX as u64) as u16 },
                        b"f" => XrefEntry::Free,
                        _ => return Err(ParseError::Syntax { pos: p.pos, what: "xref entry is neither 'n' nor 'f'" }),
                    };
                    entries.push(((first + i) as u32, entry));
                }
            }
            let trailer = p.object(0)?;
            Ok((entries, trailer))
        })?;
        let Object::Dict(trailer) = trailer else {
            return Err(Error::malformed("the trailer is not a dictionary"));
        };
        if irregular {
            self.irregular_xref = true;
        }
        Ok((entries, trailer))
    }

    fn read_xref_stream(&mut self, start: u64) -> Result<(Vec<(u32, XrefEntry)>, Dict)> {
        let (_, obj) = self.parse_indirect_at(start, true)?;
        let Object::Stream(stream) = obj else {
            return Err(Error::malformed("the cross-reference stream is not a stream"));
        };
        if !stream.dict.is_type(b"XRef") {
            return Err(Error::malformed("the cross-reference stream lacks /Type /XRef"));
        }
        let data = filter::decode(&stream.dict, &stream.raw)?;
        let widths: Vec<usize> = stream
            .dict
            .get(b"W")
            .and_then(Object::as_array)
            .map(|a| a.iter().map(|w| w.as_i64().unwrap_or(0).clamp(0, 8) as usize).collect())
            .unwrap_or_default();
        if widths.len() != 3 {
            return Err(Error::malformed("the cross-reference stream's /W is not three numbers"));
        }
        let size = stream.dict.get(b"Size").and_then(Object::as_i64).unwrap_or(0);
        let index: Vec<i64> = match stream.dict.get(b"Index").and_then(Object::as_array) {
            Some(a) => a.iter().map(|o| o.as_i64().unwrap_or(0)).collect(),
            None => vec![0, size],
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(Error::malformed("the cross-reference stream's rows are empty"));
        }
        let mut rows = data.chunks_exact(row);
        let mut entries = Vec::new();
        for pair in index.chunks(2) {
            let [first, count] = pair else { break };
            for i in 0..(*count).max(0) {
                let Some(r) = rows.next() else {
                    return Err(Error::malformed("the cross-reference stream is shorter than its /Index says"));
                };
                let field = |k: usize| -> u64 {
                    let s: usize = widths[..k].iter().sum();
                    r[s..s + widths[k]].iter().fold(0u64, |acc, b| acc << 8 | *b as u64)
                };
                let ty = if widths[0] == 0 { 1 } else { field(0) };
                let entry = match ty {
                    0 => XrefEntry::Free,
                    1 => XrefEntry::InFile { offset: field(1), generation: field(2).min(u16::MAX as u64) as u16 },
                    2 => XrefEntry::InObjStm { stream: field(1).min(u32::MAX as u64) as u32, index: field(2) as u32 },
                    _ => continue, // reserved types are treated as null references
                };
                let num = first + i;
                if (0..=u32::MAX as i64).contains(&num) {
                    entries.push((num as u32, entry));
                }
            }
        }
        Ok((entries, stream.dict))
    }

    /// Checks that the cross-reference data is consistent enough to append to.
    fn check_xref(&mut self) -> std::result::Result<(), String> {
        if self.irregular_xref {
            return Err("cross-reference rows are not in the standard fixed-width form".into());
        }
        // /Size must not shrink along the chain (pyHanko's "nondecreasing" rule).
        let sizes: Vec<i64> = self.revisions.iter().filter_map(|r| r.trailer.get(b"Size").and_then(Object::as_i64)).collect();
        if sizes.windows(2).any(|w| w[0] < w[1]) {
            return Err("a later revision lowers the trailer /Size".into());
        }
        let highest = self.xref.keys().next_back().copied().unwrap_or(0) as i64;
        if sizes.first().is_some_and(|&s| s <= highest) {
            return Err("the trailer /Size is smaller than the objects it lists".into());
        }
        let in_file: Vec<(u32, u64, u16)> = self
            .xref
            .iter()
            .filter_map(|(n, e)| match e {
                XrefEntry::InFile { offset, generation } => Some((*n, *offset, *generation)),
                _ => None,
            })
            .collect();
        for (num, offset, generation) in in_file {
            if num == 0 {
                continue;
            }
            let ok =
                offset < self.len && self.parse_at(offset, |p| p.object_header()).is_ok_and(|r| r.num == num && r.generation == generation);
            if !ok {
                return Err(format!("the cross-reference entry of object {num} does not point at that object"));
            }
        }
        Ok(())
    }

    /// Rebuilds the cross-reference map by scanning the file for `N G obj` (the way readers repair).
    fn rebuild(&mut self, why: String) -> Result<()> {
        self.xref.clear();
        let mut found: BTreeMap<u32, (u64, u16)> = BTreeMap::new();
        let mut trailers = Vec::new();
        const CHUNK: usize = 1 << 20;
        let mut pos = 0u64;
        while pos < self.len {
            let buf = self.read_at(pos, CHUNK + 64)?;
            let scan_to = if pos + buf.len() as u64 >= self.len { buf.len() } else { CHUNK };
            for i in 0..scan_to {
                let line_start = i == 0 && pos == 0 || i > 0 && matches!(buf[i - 1], b'\r' | b'\n' | b' ' | b'>');
                if line_start && buf[i].is_ascii_digit() {
                    let mut p = Parser::new(&buf, i, true);
                    if let Ok(r) = p.object_header() {
                        found.insert(r.num, (pos + i as u64, r.generation));
                    }
                } else if buf[i..].starts_with(b"trailer") {
                    trailers.push(pos + i as u64 + 7);
                }
            }
            pos += CHUNK as u64;
        }
        if found.is_empty() {
            return Err(Error::NotPdf("no PDF objects found".into()));
        }
        for (num, (offset, generation)) in &found {
            self.xref.insert(*num, XrefEntry::InFile { offset: *offset, generation: *generation });
        }
        // Objects inside object streams, for files whose xref streams were lost.
        let objstms: Vec<u32> = found.keys().copied().collect();
        for num in objstms {
            if let Ok(Object::Stream(s)) = self.get(ObjRef::new(num, found[&num].1))
                && s.dict.is_type(b"ObjStm")
                && let Ok(list) = self.objstm_index(num)
            {
                for (index, (inner, _)) in list.iter().enumerate() {
                    self.xref.entry(*inner).or_insert(XrefEntry::InObjStm { stream: num, index: index as u32 });
                }
            }
        }
        let mut trailer = Dict::new();
        for t in trailers.into_iter().rev() {
            if let Ok(Object::Dict(d)) = self.parse_at(t, |p| p.object(0)) {
                trailer = d;
                break;
            }
        }
        trailer.remove(b"Prev");
        trailer.remove(b"XRefStm");
        if !matches!(trailer.get(b"Root"), Some(Object::Ref(r)) if self.xref.contains_key(&r.num)) {
            // Fall back to the catalog object itself, and to the xref stream dicts' trailer keys.
            let nums: Vec<(u32, u16)> = found.iter().map(|(n, (_, g))| (*n, *g)).collect();
            for (num, generation) in nums.into_iter().rev() {
                match self.get(ObjRef::new(num, generation)) {
                    Ok(Object::Dict(d)) if d.is_type(b"Catalog") => {
                        trailer.set(b"Root", ObjRef::new(num, generation));
                        break;
                    }
                    Ok(Object::Stream(s)) if s.dict.is_type(b"XRef") && s.dict.contains(b"Root") => {
                        for key in [&b"Root"[..], b"Info", b"ID", b"Encrypt"] {
                            if let Some(v) = s.dict.get(key) {
                                trailer.set(key, v.clone());
                            }
                        }
                        break;
                    }
                    _ => {}
                }
            }
        }
        trailer.set(b"Size", Object::Integer(self.next_object_number_from_map() as i64));
        self.trailer = trailer;
        self.revisions.clear();
        self.repair_reason = Some(why);
        Ok(())
    }

    fn next_object_number_from_map(&self) -> u32 {
        self.xref.keys().next_back().map(|n| n + 1).unwrap_or(1)
    }

    /// Parses `N G obj ... endobj` at `offset`, with stream data loaded when `load_stream`.
    fn parse_indirect_at(&mut self, offset: u64, load_stream: bool) -> Result<(ObjRef, Object)> {
        let (r, obj, stream_start) = self.parse_at(offset, |p| {
            let r = p.object_header()?;
            let obj = p.object(0)?;
            let save = p.pos;
            let stream_start = match (&obj, p.token()) {
                (Object::Dict(_), Ok(b"stream")) => {
                    // The keyword is followed by CRLF or LF (a lone CR is tolerated).
                    if p.peek() == Some(b'\r') {
                        p.pos += 1;
                    }
                    if p.peek() == Some(b'\n') {
                        p.pos += 1;
                    }
                    Some(p.pos)
                }
                _ => {
                    p.pos = save;
                    None
                }
            };
            Ok((r, obj, stream_start))
        })?;
        let Some(rel) = stream_start else {
            return Ok((r, obj));
        };
        let Object::Dict(dict) = obj else { unreachable!("only dictionaries start streams") };
        let data_start = offset + rel as u64;
        let length = self.stream_length(&dict, data_start)?;
        let raw = if load_stream {
            if length > filter::MAX_DECODED {
                return Err(Error::malformed("a cross-reference or object stream is larger than 256 MiB"));
            }
            self.read_at(data_start, length as usize)?
        } else {
            Vec::new()
        };
        Ok((r, Object::Stream(Stream { dict, raw, span: Some((data_start, length)) })))
    }

    /// The stream's real length: `/Length` when `endstream` follows it, else found by search.
    fn stream_length(&mut self, dict: &Dict, data_start: u64) -> Result<u64> {
        let declared = match dict.get(b"Length") {
            Some(Object::Integer(n)) if *n >= 0 => Some(*n as u64),
            Some(Object::Ref(r)) => {
                let r = *r;
                match self.get(r) {
                    Ok(Object::Integer(n)) if n >= 0 => Some(n as u64),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(n) = declared
            && data_start + n <= self.len
        {
            let after = self.read_at(data_start + n, 32)?;
            let trimmed: Vec<u8> = after.iter().copied().skip_while(|b| crate::object::is_whitespace(*b)).collect();
            if trimmed.starts_with(b"endstream") {
                return Ok(n);
            }
        }
        // /Length lies or is missing: find `endstream` ourselves, in bounded chunks.
        const CHUNK: usize = 1 << 20;
        let mut pos = data_start;
        while pos < self.len {
            let buf = self.read_at(pos, CHUNK + 16)?;
            if let Some(i) = buf.windows(9).position(|w| w == b"endstream") {
                let mut end = pos + i as u64;
                // Drop the end-of-line marker that precedes the keyword.
                let before = self.read_at(end.saturating_sub(2).max(data_start), (end - end.saturating_sub(2).max(data_start)) as usize)?;
                if before.ends_with(b"\r\n") {
                    end -= 2;
                } else if before.ends_with(b"\n") || before.ends_with(b"\r") {
                    end -= 1;
                }
                return Ok(end - data_start);
            }
            pos += CHUNK as u64;
        }
        Err(Error::malformed(format!("stream at byte {data_start} has no endstream")))
    }

    /// The object `r`, or `Null` for a free or missing one (as the specification says).
    /// Stream data is not loaded; see [`Document::get_stream`].
    pub fn get(&mut self, r: ObjRef) -> Result<Object> {
        self.get_inner(r, false)
    }

    /// The stream `r` with its raw data loaded.
    pub fn get_stream(&mut self, r: ObjRef) -> Result<Stream> {
        match self.get_inner(r, true)? {
            Object::Stream(s) => Ok(s),
            _ => Err(Error::malformed(format!("object {r} is not a stream"))),
        }
    }

    /// Makes every later object read ask `interrupt` first, and stop with
    /// [`Error::Interrupted`] when it says so.
    pub fn set_interrupt(&mut self, interrupt: Option<Interrupt>) {
        self.interrupt = interrupt;
    }

    fn get_inner(&mut self, r: ObjRef, load_stream: bool) -> Result<Object> {
        if self.interrupt.as_ref().is_some_and(|stop| stop()) {
            return Err(Error::Interrupted);
        }
        match self.xref.get(&r.num).copied() {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::InFile { offset, generation }) => {
                if generation != r.generation {
                    return Ok(Object::Null);
                }
                if offset >= self.len {
                    return Err(Error::malformed(format!("object {r} lies beyond the end of the file")));
                }
                let (found, obj) = self.parse_indirect_at(offset, load_stream)?;
                if found.num != r.num {
                    return Err(Error::malformed(format!("the cross-reference entry of object {} points at object {}", r.num, found.num)));
                }
                Ok(obj)
            }
            Some(XrefEntry::InObjStm { stream, index }) => {
                if r.generation != 0 {
                    return Ok(Object::Null);
                }
                let list = self.objstm_index(stream)?;
                let data = self.objstm_data[&stream].clone();
                let Some(&(num, at)) = list.get(index as usize) else {
                    return Err(Error::malformed(format!("object stream {stream} does not hold object {}", r.num)));
                };
                if num != r.num {
                    return Err(Error::malformed(format!("object stream {stream} holds object {num} where {} was expected", r.num)));
                }
                let mut p = Parser::new(&data, at, true);
                p.object(0).map_err(|e| Error::malformed(format!("object {} in object stream {stream}: {e:?}", r.num)))
            }
        }
    }

    /// Loads and indexes an object stream: (object number, offset in the decoded data).
    fn objstm_index(&mut self, stream: u32) -> Result<std::rc::Rc<Vec<(u32, usize)>>> {
        if let Some(list) = self.objstm_cache.get(&stream) {
            return Ok(list.clone());
        }
        let Some(XrefEntry::InFile { offset, .. }) = self.xref.get(&stream).copied() else {
            return Err(Error::malformed(format!("object stream {stream} is missing")));
        };
        let (_, obj) = self.parse_indirect_at(offset, true)?;
        let Object::Stream(s) = obj else {
            return Err(Error::malformed(format!("object {stream} should be an object stream")));
        };
        let data = filter::decode(&s.dict, &s.raw)?;
        let n = s.dict.get(b"N").and_then(Object::as_i64).unwrap_or(0).clamp(0, 1_000_000) as usize;
        let first = s.dict.get(b"First").and_then(Object::as_i64).unwrap_or(0).max(0) as usize;
        let mut p = Parser::new(&data, 0, true);
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            let (Ok(num), Ok(off)) = (p.unsigned(), p.unsigned()) else {
                return Err(Error::malformed(format!("object stream {stream} has a damaged header")));
            };
            list.push((num.min(u32::MAX as u64) as u32, first.saturating_add(off as usize)));
        }
        let list = std::rc::Rc::new(list);
        self.objstm_cache.insert(stream, list.clone());
        self.objstm_data.insert(stream, std::rc::Rc::new(data));
        Ok(list)
    }

    /// Follows a reference (and chains of them); direct objects come back as they are.
    pub fn resolve(&mut self, obj: &Object) -> Result<Object> {
        let mut cur = obj.clone();
        for _ in 0..32 {
            match cur {
                Object::Ref(r) => cur = self.get(r)?,
                other => return Ok(other),
            }
        }
        Err(Error::malformed("reference chain too long"))
    }

    /// Resolves `obj` to a dictionary, or None.
    pub fn resolve_dict(&mut self, obj: Option<&Object>) -> Result<Option<Dict>> {
        let Some(obj) = obj else { return Ok(None) };
        Ok(match self.resolve(obj)? {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(s.dict),
            _ => None,
        })
    }

    pub fn root_ref(&self) -> ObjRef {
        self.trailer.get(b"Root").and_then(Object::as_ref).unwrap_or(ObjRef::new(0, 0))
    }

    pub fn catalog(&mut self) -> Result<Dict> {
        let r = self.root_ref();
        match self.get(r)? {
            Object::Dict(d) => Ok(d),
            _ => Err(Error::malformed("the document catalog is not a dictionary")),
        }
    }

    /// Page references in order. Cycles and absurd depth in the page tree are cut, never followed.
    pub fn pages(&mut self) -> Result<Vec<ObjRef>> {
        let catalog = self.catalog()?;
        let Some(Object::Ref(root)) = catalog.get(b"Pages").cloned() else {
            return Err(Error::malformed("/Pages is not an indirect reference"));
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(root, 0usize)];
        while let Some((r, depth)) = stack.pop() {
            if !seen.insert(r) || depth > 64 {
                continue;
            }
            let Some(node) = self.resolve_dict(Some(&Object::Ref(r)))? else {
                continue;
            };
            match node.get(b"Kids").and_then(Object::as_array) {
                Some(kids) if !node.is_type(b"Page") => {
                    for kid in kids.iter().rev() {
                        if let Object::Ref(k) = kid {
                            stack.push((*k, depth + 1));
                        }
                    }
                }
                _ => out.push(r),
            }
        }
        if out.is_empty() {
            return Err(Error::malformed("the document has no pages"));
        }
        Ok(out)
    }

    /// Looks up an inheritable page attribute (ISO 32000-2 §7.7.3.4), such as /MediaBox or /Rotate.
    pub fn page_attribute(&mut self, page: ObjRef, key: &[u8]) -> Result<Option<Object>> {
        let mut cur = Some(Object::Ref(page));
        let mut seen = HashSet::new();
        while let Some(Object::Ref(r)) = cur {
            if !seen.insert(r) || seen.len() > 64 {
                break;
            }
            let Some(d) = self.resolve_dict(Some(&Object::Ref(r)))? else { break };
            if let Some(v) = d.get(key) {
                return Ok(Some(self.resolve(v)?));
            }
            cur = d.get(b"Parent").cloned();
        }
        Ok(None)
    }

    /// Streams the bytes `[from, to)` of the original file to `sink`, in chunks.
    pub fn copy_range(&mut self, from: u64, to: u64, sink: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        const CHUNK: usize = 1 << 20;
        self.src.seek(SeekFrom::Start(from))?;
        let mut left = to.saturating_sub(from);
        // No bigger than needed: a 1 MiB zeroed buffer for a 30 KB lesson plan was the service's
        // largest single cost (memset and page faults, per signature).
        let mut buf = vec![0u8; CHUNK.min(left as usize)];
        while left > 0 {
            let n = (left as usize).min(CHUNK);
            self.src.read_exact(&mut buf[..n])?;
            sink(&buf[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Reads the file's last bytes, to see whether it ends with an end-of-line.
    pub(crate) fn ends_with_eol(&mut self) -> Result<bool> {
        if self.len == 0 {
            return Ok(false);
        }
        let last = self.read_at(self.len - 1, 1)?;
        Ok(matches!(last.first(), Some(b'\n' | b'\r')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A tiny xorshift generator: deterministic mutations, no dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn seeds() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pdf");
        let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
        v.sort();
        v
    }

    /// Mutated real files (flipped bytes, truncations, spliced tails) never panic or hang the
    /// reader or the signature preparation; the cargo-fuzz targets explore further.
    #[test]
    fn mutated_files_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for seed in seeds() {
            for _ in 0..300 {
                let mut bytes = seed.clone();
                match next(&mut state) % 3 {
                    0 => {
                        for _ in 0..1 + next(&mut state) % 8 {
                            let i = (next(&mut state) as usize) % bytes.len();
                            bytes[i] = next(&mut state) as u8;
                        }
                    }
                    1 => bytes.truncate((next(&mut state) as usize) % bytes.len()),
                    _ => {
                        let i = (next(&mut state) as usize) % bytes.len();
                        let j = (next(&mut state) as usize) % bytes.len();
                        let tail = bytes[j..].to_vec();
                        bytes.truncate(i);
                        bytes.extend_from_slice(&tail);
                    }
                }
                exercise(&bytes);
            }
        }
    }

    fn exercise(bytes: &[u8]) {
        let Ok(mut doc) = Document::open(Cursor::new(bytes.to_vec())) else { return };
        let _ = doc.pages();
        let _ = doc.fields();
        let Ok(mut update) = crate::Update::new(&mut doc) else { return };
        let request = crate::SignatureRequest {
            field: None,
            placement: crate::Placement::Invisible,
            entries: crate::Dict::new(),
            capacity: 64,
            certify: None,
            lock: None,
            appearance: None,
        };
        if doc.add_signature(&mut update, &request).is_ok() {
            let mut out = Vec::new();
            let _ = update.write(&mut doc, &mut out, &mut |_| {});
        }
    }

    #[test]
    fn damaged_xref_is_rebuilt_and_rewritten_cleanly() {
        let seed = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pdf/rotated-90.pdf")).unwrap();
        // Shift every object by inserting bytes after the header: all xref offsets go stale.
        let mut bytes = seed[..9].to_vec();
        bytes.extend_from_slice(b"% padding that moves every object\n");
        bytes.extend_from_slice(&seed[9..]);
        let mut doc = Document::open(Cursor::new(bytes)).unwrap();
        assert!(doc.repair_reason().is_some());
        let mut clean = Vec::new();
        crate::writer::rewrite(&mut doc, &mut clean).unwrap();
        let mut again = Document::open(Cursor::new(clean)).unwrap();
        assert!(again.repair_reason().is_none(), "the rewritten file needs no repair");
        let pages = again.pages().unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(again.page_attribute(pages[0], b"Rotate").unwrap(), Some(Object::Integer(90)));
    }
}
