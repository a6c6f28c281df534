//! AcroForm signature fields (ISO 32000-2 §12.7, §12.8): listing, creating, and filling them,
//! with DocMDP certification and FieldMDP locks.

use crate::error::{Error, Result};
use crate::object::{Dict, ObjRef, Object, StringStyle};
use crate::reader::Document;
use crate::writer::Update;
use std::collections::HashSet;
use std::io::{Read, Seek};

/// Deepest field hierarchy followed.
const MAX_FIELD_DEPTH: usize = 32;

/// A terminal form field as found in the document.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    pub name: String,
    pub reference: ObjRef,
    pub field_type: Option<String>,
    /// For signature fields: the signature dictionary, when the field is signed.
    pub signature: Option<ObjRef>,
    pub has_lock: bool,
}

/// DocMDP permission levels (ISO 32000-2 §12.8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocMdp {
    /// P=1: no changes at all.
    NoChanges = 1,
    /// P=2: filling forms and signing.
    FormFilling = 2,
    /// P=3: also annotations.
    Annotations = 3,
}

/// What a FieldMDP lock covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldLock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

/// Where a new field's widget goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    Invisible,
    /// `page` counts from 1; `rect` is `[x1, y1, x2, y2]` in default user space.
    Visible {
        page: usize,
        rect: [f64; 4],
    },
}

/// An appearance stream for a widget, with the resources it needs already as objects.
#[derive(Clone, Debug)]
pub struct Appearance {
    /// The form XObject, `/BBox` included; resources point at `extra` objects by reference.
    pub xobject: crate::object::Stream,
    /// Objects the appearance refers to: (placeholder reference, object). Placeholder numbers are
    /// rewritten to fresh ones by [`Update`].
    pub extra: Vec<(ObjRef, Object)>,
}

/// Everything needed to add one signature.
#[derive(Clone, Debug)]
pub struct SignatureRequest {
    /// Existing empty field to fill, or the name for a new one (a fresh name when `None`).
    pub field: Option<String>,
    pub placement: Placement,
    /// `/Filter`, `/SubFilter`, `/M`, `/Name`, `/Reason`, ... (not `/ByteRange`, `/Contents`).
    pub entries: Dict,
    /// DER bytes to reserve in `/Contents`.
    pub capacity: usize,
    pub certify: Option<DocMdp>,
    /// Lock to put on a new field (an existing field keeps its own `/Lock`).
    pub lock: Option<FieldLock>,
    /// Builds the appearance once the widget's size is known (width, height, page rotation).
    pub appearance: Option<AppearanceSpec>,
}

/// Inputs for the appearance, given to a builder closure in `appearance`.
#[derive(Clone, Debug)]
pub struct AppearanceSpec {
    pub lines: Vec<String>,
    pub image: Option<crate::appearance::Image>,
}

impl<R: Read + Seek> Document<R> {
    /// All terminal fields of the AcroForm, with fully qualified names.
    pub fn fields(&mut self) -> Result<Vec<FieldInfo>> {
        let catalog = self.catalog()?;
        let Some(acroform) = self.resolve_dict(catalog.get(b"AcroForm"))? else {
            return Ok(Vec::new());
        };
        let roots: Vec<Object> = match acroform.get(b"Fields") {
            Some(f) => match self.resolve(f)? {
                Object::Array(a) => a,
                _ => return Ok(Vec::new()),
            },
            None => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<(Object, String, Option<String>, usize)> =
            roots.into_iter().rev().map(|o| (o, String::new(), None, 0)).collect();
        while let Some((obj, prefix, inherited_ft, depth)) = stack.pop() {
            let Object::Ref(r) = obj else { continue };
            if !seen.insert(r) {
                return Err(Error::Field("the form's field tree contains a cycle".into()));
            }
            if depth > MAX_FIELD_DEPTH {
                return Err(Error::Field("the form's field tree is nested too deeply".into()));
            }
            let Some(d) = self.resolve_dict(Some(&obj))? else { continue };
            let partial = d.get(b"T").and_then(Object::as_bytes).map(decode_text);
            let name = match (&partial, prefix.is_empty()) {
                (Some(p), true) => p.clone(),
                (Some(p), false) => format!("{prefix}.{p}"),
                (None, _) => prefix.clone(),
            };
            let ft = d.name(b"FT").map(|n| String::from_utf8_lossy(n).into_owned()).or(inherited_ft);
            let kids: Vec<Object> = match d.get(b"Kids") {
                Some(k) => match self.resolve(k)? {
                    Object::Array(a) => a,
                    _ => Vec::new(),
                },
                None => Vec::new(),
            };
            // Kids without /T are widgets of this field, not fields of their own.
            let mut field_kids = Vec::new();
            for k in &kids {
                if let Some(kd) = self.resolve_dict(Some(k))?
                    && kd.contains(b"T")
                {
                    field_kids.push(k.clone());
                }
            }
            if field_kids.is_empty() {
                out.push(FieldInfo {
                    name,
                    reference: r,
                    field_type: ft,
                    signature: d.get(b"V").and_then(Object::as_ref),
                    has_lock: d.contains(b"Lock"),
                });
            } else {
                for k in field_kids.into_iter().rev() {
                    stack.push((k, name.clone(), ft.clone(), depth + 1));
                }
            }
        }
        Ok(out)
    }

    /// True when any signature field carries a value.
    pub fn has_signatures(&mut self) -> Result<bool> {
        Ok(self.fields().unwrap_or_default().iter().any(|f| f.field_type.as_deref() == Some("Sig") && f.signature.is_some()))
    }

    /// The DocMDP level of a certification signature, if the document is certified.
    pub fn certification_level(&mut self) -> Result<Option<i64>> {
        let catalog = self.catalog()?;
        let Some(perms) = self.resolve_dict(catalog.get(b"Perms"))? else { return Ok(None) };
        let Some(sig) = self.resolve_dict(perms.get(b"DocMDP"))? else { return Ok(None) };
        let refs = match sig.get(b"Reference") {
            Some(r) => self.resolve(r)?,
            None => return Ok(Some(2)),
        };
        for r in refs.as_array().cloned().unwrap_or_default() {
            if let Some(sr) = self.resolve_dict(Some(&r))?
                && sr.name(b"TransformMethod") == Some(b"DocMDP")
            {
                let params = self.resolve_dict(sr.get(b"TransformParams"))?.unwrap_or_default();
                return Ok(Some(params.get(b"P").and_then(Object::as_i64).unwrap_or(2)));
            }
        }
        Ok(Some(2))
    }

    /// Refuses to touch `target` when an earlier signature's FieldMDP lock covers it: signing it
    /// would invalidate that signature.
    fn check_not_locked(&mut self, fields: &[FieldInfo], target: &str) -> Result<()> {
        for f in fields.iter().filter(|f| f.signature.is_some()) {
            let Some(sig) = self.resolve_dict(f.signature.map(Object::Ref).as_ref())? else { continue };
            let refs = match sig.get(b"Reference") {
                Some(r) => self.resolve(r)?.as_array().cloned().unwrap_or_default(),
                None => Vec::new(),
            };
            for r in refs {
                let Some(sr) = self.resolve_dict(Some(&r))? else { continue };
                if sr.name(b"TransformMethod") != Some(b"FieldMDP") {
                    continue;
                }
                let params = self.resolve_dict(sr.get(b"TransformParams"))?.unwrap_or_default();
                let listed: Vec<String> = match params.get(b"Fields") {
                    Some(o) => self
                        .resolve(o)?
                        .as_array()
                        .map(|a| a.iter().filter_map(Object::as_bytes).map(decode_text).collect())
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                let locked = match params.name(b"Action") {
                    Some(b"All") => true,
                    Some(b"Include") => listed.iter().any(|n| n == target),
                    Some(b"Exclude") => !listed.iter().any(|n| n == target),
                    _ => false,
                };
                if locked {
                    return Err(Error::Field(format!(
                        "field \"{target}\" is locked by the signature in field \"{}\"; signing it would invalidate that signature",
                        f.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Adds an empty signature field (an approval stage to be signed later).
    pub fn add_empty_field(&mut self, update: &mut Update, name: &str, placement: &Placement, lock: Option<&FieldLock>) -> Result<ObjRef> {
        if self.fields()?.iter().any(|f| f.name == name) {
            return Err(Error::Field(format!("a field named \"{name}\" already exists")));
        }
        if self.certification_level()?.is_some() {
            return Err(Error::Field("the document is certified: adding fields now would be a change its certification does not permit; add every stage's field before the certification signature".into()));
        }
        let (field, _) = self.new_widget_field(update, name, placement, lock, None)?;
        Ok(field)
    }

    /// Prepares the objects of one signature: field and widget, signature dictionary (its
    /// `/Contents` a hole of `request.capacity` bytes), page annotations, AcroForm, DocMDP.
    pub fn add_signature(&mut self, update: &mut Update, request: &SignatureRequest) -> Result<ObjRef> {
        match self.certification_level()? {
            Some(1) => {
                return Err(Error::Field(
                    "the document is certified with \"no changes allowed\" (DocMDP P=1); it cannot be signed again".into(),
                ));
            }
            _ if request.certify.is_some() && self.has_signatures()? => {
                return Err(Error::Field("a certification signature must be the document's first signature".into()));
            }
            _ => {}
        }
        let fields = self.fields()?;
        let existing = request.field.as_ref().and_then(|n| fields.iter().find(|f| &f.name == n)).cloned();
        if let Some(target) = &existing {
            self.check_not_locked(&fields, &target.name)?;
        }
        let sig_ref = update.alloc();
        let mut sig = Dict::new().with(b"Type", Object::name(b"Sig"));
        for (k, v) in &request.entries.0 {
            sig.set(k, v.clone());
        }
        let mut references = Vec::new();
        if let Some(level) = request.certify {
            references.push(Object::Dict(
                Dict::new().with(b"Type", Object::name(b"SigRef")).with(b"TransformMethod", Object::name(b"DocMDP")).with(
                    b"TransformParams",
                    Dict::new().with(b"Type", Object::name(b"TransformParams")).with(b"P", level as i64).with(b"V", Object::name(b"1.2")),
                ),
            ));
        }
        let field_ref = match existing {
            Some(f) => {
                if f.field_type.as_deref() != Some("Sig") {
                    return Err(Error::Field(format!("field \"{}\" is not a signature field", f.name)));
                }
                if f.signature.is_some() {
                    return Err(Error::Field(format!("field \"{}\" is already signed", f.name)));
                }
                let mut field = self.resolve_dict(Some(&Object::Ref(f.reference)))?.unwrap_or_default();
                if let Some(lock) = self.resolve_dict(field.get(b"Lock"))? {
                    references.push(fieldmdp_reference(&lock));
                }
                field.set(b"V", sig_ref);
                // The widget: the field itself, or its first kid.
                let widget_ref = if field.name(b"Subtype") == Some(b"Widget") {
                    f.reference
                } else {
                    match field.get(b"Kids").and_then(Object::as_array).and_then(|k| k.first()).and_then(Object::as_ref) {
                        Some(w) => w,
                        None => return Err(Error::Field(format!("field \"{}\" has no widget", f.name))),
                    }
                };
                update.put(f.reference, field);
                if let Some(spec) = &request.appearance {
                    let mut widget = match update.get(widget_ref) {
                        Some(Object::Dict(d)) => d.clone(),
                        _ => self.resolve_dict(Some(&Object::Ref(widget_ref)))?.unwrap_or_default(),
                    };
                    let rect = rect_of(&widget);
                    let rotate = match widget.get(b"P").and_then(Object::as_ref) {
                        Some(p) => self.page_attribute(p, b"Rotate")?.and_then(|o| o.as_i64()).unwrap_or(0),
                        None => 0,
                    };
                    if rect[2] - rect[0] > 0.0 && rect[3] - rect[1] > 0.0 {
                        let ap = crate::appearance::build(spec, rect[2] - rect[0], rect[3] - rect[1], rotate)?;
                        let ap_ref = put_appearance(update, ap);
                        widget.set(b"AP", Dict::new().with(b"N", ap_ref));
                        update.put(widget_ref, widget);
                    }
                }
                f.reference
            }
            None => {
                if matches!(request.placement, Placement::Visible { .. }) && self.certification_level()?.is_some() {
                    return Err(Error::Field(
                        "the document is certified: a new visible signature field is not a permitted change; sign into one of its empty fields, or sign invisibly".into(),
                    ));
                }
                let name = match &request.field {
                    Some(n) => n.clone(),
                    None => fresh_name(&fields),
                };
                let (field_ref, lock) = self.new_widget_field(
                    update,
                    &name,
                    &request.placement,
                    request.lock.as_ref(),
                    Some((sig_ref, request.appearance.as_ref())),
                )?;
                if let Some(lock) = lock {
                    references.push(fieldmdp_reference(&lock));
                }
                field_ref
            }
        };
        if !references.is_empty() {
            sig.set(b"Reference", Object::Array(references));
        }
        let mut catalog = match update.get(self.root_ref()) {
            Some(Object::Dict(d)) => d.clone(),
            _ => self.catalog()?,
        };
        if request.certify.is_some() {
            catalog.set(b"Perms", Dict::new().with(b"DocMDP", sig_ref));
            update.put(self.root_ref(), catalog);
        }
        self.set_sig_flags(update)?;
        update.put_signature(sig_ref, sig, request.capacity);
        let _ = field_ref;
        Ok(sig_ref)
    }

    /// Creates a merged field/widget on a page, adds it to the page and to the AcroForm.
    fn new_widget_field(
        &mut self,
        update: &mut Update,
        name: &str,
        placement: &Placement,
        lock: Option<&FieldLock>,
        value: Option<(ObjRef, Option<&AppearanceSpec>)>,
    ) -> Result<(ObjRef, Option<Dict>)> {
        let pages = self.pages()?;
        let (page_index, rect) = match placement {
            Placement::Invisible => (0, [0.0; 4]),
            Placement::Visible { page, rect } => {
                if *page == 0 || *page > pages.len() {
                    return Err(Error::NoSuchPage(*page, pages.len()));
                }
                let [x1, y1, x2, y2] = *rect;
                (page - 1, [x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)])
            }
        };
        let page_ref = pages[page_index];
        let field_ref = update.alloc();
        let mut field = Dict::new()
            .with(b"FT", Object::name(b"Sig"))
            .with(b"T", Object::text(name))
            .with(b"Type", Object::name(b"Annot"))
            .with(b"Subtype", Object::name(b"Widget"))
            .with(b"Rect", rect.iter().map(|v| Object::Real(*v)).collect::<Vec<_>>())
            // Print (4) + Locked (128): the widget cannot be moved or deleted in viewers.
            .with(b"F", 132i64)
            .with(b"P", page_ref);
        let lock_dict = lock.map(lock_dict);
        if let Some(l) = &lock_dict {
            field.set(b"Lock", l.clone());
        }
        let width = rect[2] - rect[0];
        let height = rect[3] - rect[1];
        let rotate = self.page_attribute(page_ref, b"Rotate")?.and_then(|o| o.as_i64()).unwrap_or(0);
        let appearance = match value.and_then(|(_, spec)| spec) {
            Some(spec) if width > 0.0 && height > 0.0 => Some(crate::appearance::build(spec, width, height, rotate)?),
            _ => None,
        };
        let ap = match appearance {
            Some(a) => put_appearance(update, a),
            // An empty appearance keeps PDF/A and PDF 2.0 readers content.
            None => update.put_new(
                crate::object::Stream::new(
                    Dict::new()
                        .with(b"Type", Object::name(b"XObject"))
                        .with(b"Subtype", Object::name(b"Form"))
                        .with(b"BBox", vec![Object::Integer(0), Object::Integer(0), Object::Real(width), Object::Real(height)]),
                    Vec::new(),
                )
                .into_object(),
            ),
        };
        field.set(b"AP", Dict::new().with(b"N", ap));
        if let Some((sig_ref, _)) = value {
            field.set(b"V", sig_ref);
        }
        update.put(field_ref, field);
        self.append_to_page_annots(update, page_ref, field_ref)?;
        self.append_to_acroform_fields(update, field_ref)?;
        Ok((field_ref, lock_dict))
    }

    fn append_to_page_annots(&mut self, update: &mut Update, page_ref: ObjRef, widget: ObjRef) -> Result<()> {
        let mut page = match update.get(page_ref) {
            Some(Object::Dict(d)) => d.clone(),
            _ => self.resolve_dict(Some(&Object::Ref(page_ref)))?.ok_or_else(|| Error::malformed("a page is not a dictionary"))?,
        };
        match page.get(b"Annots").cloned() {
            Some(Object::Ref(arr_ref)) => {
                let mut arr = match update.get(arr_ref) {
                    Some(Object::Array(a)) => a.clone(),
                    _ => self.resolve(&Object::Ref(arr_ref))?.as_array().cloned().unwrap_or_default(),
                };
                arr.push(Object::Ref(widget));
                update.put(arr_ref, Object::Array(arr));
            }
            Some(Object::Array(mut arr)) => {
                arr.push(Object::Ref(widget));
                page.set(b"Annots", arr);
                update.put(page_ref, page);
            }
            _ => {
                page.set(b"Annots", vec![Object::Ref(widget)]);
                update.put(page_ref, page);
            }
        }
        Ok(())
    }

    /// Returns the AcroForm as it stands in this update, and where it must be written back.
    fn acroform_for_update(&mut self, update: &mut Update) -> Result<(Dict, Option<ObjRef>)> {
        let root = self.root_ref();
        let catalog = match update.get(root) {
            Some(Object::Dict(d)) => d.clone(),
            _ => self.catalog()?,
        };
        Ok(match catalog.get(b"AcroForm") {
            Some(Object::Ref(r)) => {
                let d = match update.get(*r) {
                    Some(Object::Dict(d)) => d.clone(),
                    _ => self.resolve_dict(Some(&Object::Ref(*r)))?.unwrap_or_default(),
                };
                (d, Some(*r))
            }
            Some(Object::Dict(d)) => (d.clone(), None),
            _ => (Dict::new().with(b"Fields", Vec::<Object>::new()), None),
        })
    }

    fn store_acroform(&mut self, update: &mut Update, acroform: Dict, at: Option<ObjRef>) -> Result<()> {
        match at {
            Some(r) => update.put(r, acroform),
            None => {
                let root = self.root_ref();
                let mut catalog = match update.get(root) {
                    Some(Object::Dict(d)) => d.clone(),
                    _ => self.catalog()?,
                };
                let r = update.put_new(acroform);
                catalog.set(b"AcroForm", r);
                update.put(root, catalog);
            }
        }
        Ok(())
    }

    fn append_to_acroform_fields(&mut self, update: &mut Update, field: ObjRef) -> Result<()> {
        let (mut acroform, at) = self.acroform_for_update(update)?;
        match acroform.get(b"Fields").cloned() {
            Some(Object::Ref(r)) => {
                let mut arr = match update.get(r) {
                    Some(Object::Array(a)) => a.clone(),
                    _ => self.resolve(&Object::Ref(r))?.as_array().cloned().unwrap_or_default(),
                };
                arr.push(Object::Ref(field));
                update.put(r, Object::Array(arr));
            }
            Some(Object::Array(mut arr)) => {
                arr.push(Object::Ref(field));
                acroform.set(b"Fields", arr);
            }
            _ => acroform.set(b"Fields", vec![Object::Ref(field)]),
        }
        self.store_acroform(update, acroform, at)
    }

    fn set_sig_flags(&mut self, update: &mut Update) -> Result<()> {
        let (mut acroform, at) = self.acroform_for_update(update)?;
        if acroform.get(b"SigFlags").and_then(Object::as_i64) == Some(3) && at.is_some_and(|r| update.get(r).is_some()) {
            return Ok(());
        }
        // SignaturesExist (1) + AppendOnly (2).
        acroform.set(b"SigFlags", 3i64);
        self.store_acroform(update, acroform, at)
    }
}

fn put_appearance(update: &mut Update, ap: Appearance) -> ObjRef {
    // Give the appearance's own objects fresh numbers and point the resources at them.
    let mut map = std::collections::HashMap::new();
    for (placeholder, _) in &ap.extra {
        map.insert(*placeholder, update.alloc());
    }
    for (placeholder, obj) in ap.extra {
        update.put(map[&placeholder], renumber(obj, &map));
    }
    let xobject = renumber(Object::Stream(ap.xobject), &map);
    update.put_new(xobject)
}

pub(crate) fn renumber(obj: Object, map: &std::collections::HashMap<ObjRef, ObjRef>) -> Object {
    match obj {
        Object::Ref(r) => Object::Ref(*map.get(&r).unwrap_or(&r)),
        Object::Array(a) => Object::Array(a.into_iter().map(|o| renumber(o, map)).collect()),
        Object::Dict(d) => Object::Dict(Dict(d.0.into_iter().map(|(k, v)| (k, renumber(v, map))).collect())),
        Object::Stream(mut s) => {
            s.dict = Dict(s.dict.0.into_iter().map(|(k, v)| (k, renumber(v, map))).collect());
            Object::Stream(s)
        }
        other => other,
    }
}

fn rect_of(widget: &Dict) -> [f64; 4] {
    let v: Vec<f64> =
        widget.get(b"Rect").and_then(Object::as_array).map(|a| a.iter().filter_map(Object::as_f64).collect()).unwrap_or_default();
    match v.as_slice() {
        [a, b, c, d] => [a.min(*c), b.min(*d), a.max(*c), b.max(*d)],
        _ => [0.0; 4],
    }
}

fn lock_dict(lock: &FieldLock) -> Dict {
    let d = Dict::new().with(b"Type", Object::name(b"SigFieldLock"));
    match lock {
        FieldLock::All => d.with(b"Action", Object::name(b"All")),
        FieldLock::Include(f) => {
            d.with(b"Action", Object::name(b"Include")).with(b"Fields", f.iter().map(|n| Object::text(n)).collect::<Vec<_>>())
        }
        FieldLock::Exclude(f) => {
            d.with(b"Action", Object::name(b"Exclude")).with(b"Fields", f.iter().map(|n| Object::text(n)).collect::<Vec<_>>())
        }
    }
}

fn fieldmdp_reference(lock: &Dict) -> Object {
    let mut params = Dict::new().with(b"Type", Object::name(b"TransformParams"));
    params.set(b"Action", lock.get(b"Action").cloned().unwrap_or(Object::name(b"All")));
    if let Some(f) = lock.get(b"Fields") {
        params.set(b"Fields", f.clone());
    }
    params.set(b"V", Object::name(b"1.2"));
    Object::Dict(
        Dict::new()
            .with(b"Type", Object::name(b"SigRef"))
            .with(b"TransformMethod", Object::name(b"FieldMDP"))
            .with(b"TransformParams", params),
    )
}

fn fresh_name(fields: &[FieldInfo]) -> String {
    // A set, not a scan per candidate: 100,000 fields named Signature1… stay linear.
    let taken: HashSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    (1..).map(|i| format!("Signature{i}")).find(|n| !taken.contains(n.as_str())).expect("unbounded range")
}

/// Decodes a PDF text string (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding as Latin-1).
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        bytes.iter().map(|&b| b as char).collect()
    }
}

/// A PDF date string (`D:YYYYMMDDHHmmSS+HH'mm'`) from its parts; the caller reads the clock.
pub fn pdf_date(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, offset_minutes: i32) -> Object {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    Object::String(
        format!("D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{sign}{:02}'{:02}'", off / 60, off % 60).into_bytes(),
        StringStyle::Literal,
    )
}

impl crate::object::Stream {
    pub fn into_object(self) -> Object {
        Object::Stream(self)
    }
}

/// What a Document Security Store holds: DER certificates, OCSP responses and CRLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationData {
    pub certs: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

impl<R: Read + Seek> Document<R> {
    /// Adds validation data to the Document Security Store (ISO 32000-2 §12.8.4.3; PAdES B-LT):
    /// each certificate, OCSP response and CRL as a stream, merged with any existing /DSS.
    pub fn add_dss(&mut self, update: &mut Update, data: &ValidationData) -> Result<()> {
        let (certs, ocsps, crls) = (&data.certs, &data.ocsps, &data.crls);
        let root = self.root_ref();
        let mut catalog = match update.get(root) {
            Some(Object::Dict(d)) => d.clone(),
            _ => self.catalog()?,
        };
        let mut dss = self.resolve_dict(catalog.get(b"DSS"))?.unwrap_or_else(|| Dict::new().with(b"Type", Object::name(b"DSS")));
        for (key, items) in [(&b"Certs"[..], certs), (b"OCSPs", ocsps), (b"CRLs", crls)] {
            let items: &[Vec<u8>] = items;
            if items.is_empty() {
                continue;
            }
            let mut arr = match dss.get(key) {
                Some(o) => self.resolve(o)?.as_array().cloned().unwrap_or_default(),
                None => Vec::new(),
            };
            for item in items {
                let s = crate::object::Stream::new(Dict::new().with(b"Filter", Object::name(b"FlateDecode")), crate::filter::deflate(item));
                arr.push(Object::Ref(update.put_new(s.into_object())));
            }
            dss.set(key, Object::Array(arr));
        }
        let dss_ref = update.put_new(dss);
        catalog.set(b"DSS", dss_ref);
        update.put(root, catalog);
        Ok(())
    }

    /// The streams listed under /DSS /Certs, /OCSPs and /CRLs, decoded.
    pub fn dss(&mut self) -> Result<ValidationData> {
        let catalog = self.catalog()?;
        let Some(dss) = self.resolve_dict(catalog.get(b"DSS"))? else { return Ok(Default::default()) };
        let mut out: [Vec<Vec<u8>>; 3] = Default::default();
        for (i, key) in [&b"Certs"[..], b"OCSPs", b"CRLs"].into_iter().enumerate() {
            let arr = match dss.get(key) {
                Some(o) => self.resolve(o)?.as_array().cloned().unwrap_or_default(),
                None => Vec::new(),
            };
            for r in arr.iter().filter_map(Object::as_ref).take(10_000) {
                if let Ok(s) = self.get_stream(r) {
                    out[i].push(crate::filter::decode(&s.dict, &s.raw)?);
                }
            }
        }
        let [certs, ocsps, crls] = out;
        Ok(ValidationData { certs, ocsps, crls })
    }
}
