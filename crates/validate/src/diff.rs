//! What changed after a signature, and whether it was allowed. Each later revision is opened on
//! its own (the file cut at that revision's end), its cross-reference entries are compared with
//! the revision before, and every object whose entry changed is judged against a whitelist:
//! new signatures and their fields, widgets and appearances; AcroForm bookkeeping; the DSS;
//! XMP metadata and the Info dictionary. Anything else is DISALLOWED (fail closed), and a
//! redefined or freed object that signed content used is named as a shadow attack.

use crate::report::{Attack, Message, msg};
use kyso_pdf::reader::XrefEntry;
use kyso_pdf::{Dict, Document, ObjRef, Object};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The verdict on the updates after one signature.
#[derive(Default)]
pub struct Findings {
    pub changed: bool,
    pub disallowed: bool,
    pub attacks: Vec<Attack>,
    pub messages: Vec<Message>,
}

impl Findings {
    fn disallow(&mut self, attack: Option<Attack>, vi: String, en: String) {
        self.disallowed = true;
        if let Some(a) = attack
            && !self.attacks.contains(&a)
        {
            self.attacks.push(a);
        }
        if self.messages.len() < 12 {
            self.messages.push(msg(vi, en));
        }
    }
}

type Doc<'a> = Document<crate::input::View<'a>>;

fn entries(doc: &Doc) -> BTreeMap<u32, XrefEntry> {
    doc.object_numbers().collect()
}

/// Who refers to each object (object numbers; `u32::MAX` stands for the trailer).
fn referrers(doc: &mut Doc) -> HashMap<u32, Vec<u32>> {
    fn walk(o: &Object, from: u32, out: &mut HashMap<u32, Vec<u32>>, depth: usize) {
        if depth > 32 {
            return;
        }
        match o {
            Object::Ref(r) => out.entry(r.num).or_default().push(from),
            Object::Array(a) => a.iter().for_each(|x| walk(x, from, out, depth + 1)),
            Object::Dict(d) => d.0.iter().for_each(|(_, v)| walk(v, from, out, depth + 1)),
            Object::Stream(s) => s.dict.0.iter().for_each(|(_, v)| walk(v, from, out, depth + 1)),
            _ => {}
        }
    }
    let mut out = HashMap::new();
    let nums: Vec<(u32, XrefEntry)> = doc.object_numbers().take(200_000).collect();
    for (num, e) in nums {
        let generation = match e {
            XrefEntry::InFile { generation, .. } => generation,
            XrefEntry::InObjStm { .. } => 0,
            XrefEntry::Free => continue,
        };
        if let Ok(o) = doc.get(ObjRef::new(num, generation)) {
            walk(&o, num, &mut out, 0);
        }
    }
    walk(&Object::Dict(doc.trailer().clone()), u32::MAX, &mut out, 0);
    out
}

fn is_sig_field(d: &Dict) -> bool {
    d.name(b"FT") == Some(b"Sig")
}

fn is_sig_dict(d: &Dict) -> bool {
    matches!(d.name(b"Type"), Some(b"Sig") | Some(b"DocTimeStamp")) || (d.contains(b"ByteRange") && d.contains(b"Contents"))
}

fn refs_in(o: Option<&Object>) -> Vec<u32> {
    match o {
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_ref).map(|r| r.num).collect(),
        _ => Vec::new(),
    }
}

fn differing_keys(old: &Dict, new: &Dict) -> Vec<String> {
    let mut keys: HashSet<&Vec<u8>> = old.0.iter().map(|(k, _)| k).collect();
    keys.extend(new.0.iter().map(|(k, _)| k));
    let mut out: Vec<String> =
        keys.into_iter().filter(|k| old.get(k) != new.get(k)).map(|k| String::from_utf8_lossy(k).into_owned()).collect();
    out.sort();
    out
}

/// Judges every update after the revision ending at `signed_end`.
/// `locked` says whether a FieldMDP lock of this signature freezes a field name.
pub fn analyse(
    data: &crate::input::Input,
    signed_end: u64,
    revision_ends: &[u64],
    docmdp: Option<i64>,
    locked: &dyn Fn(&str) -> bool,
    interrupt: Option<&kyso_pdf::Interrupt>,
) -> Findings {
    let mut f = Findings::default();
    let later: Vec<u64> = revision_ends.iter().copied().filter(|e| *e > signed_end).collect();
    if later.is_empty() {
        return f;
    }
    let Ok(mut prev) = Document::open(data.view(signed_end)) else {
        f.disallow(None, "không đọc được phiên bản đã ký".into(), "the signed revision cannot be read on its own".into());
        return f;
    };
    prev.set_interrupt(interrupt.cloned());
    let signed_disagreements: HashSet<u32> = prev.xref_disagreements().iter().map(|d| d.object).collect();
    let signed_refs = referrers(&mut prev);
    let root_signed = prev.root_ref();
    let metadata = prev.catalog().ok().and_then(|c| c.get(b"Metadata").and_then(Object::as_ref));
    let info = prev.trailer().get(b"Info").and_then(Object::as_ref);
    for end in later {
        if interrupt.is_some_and(|stop| stop()) {
            f.disallow(None, "việc kiểm tra bị dừng".into(), "the analysis was stopped before it finished".into());
            return f;
        }
        let Ok(mut next) = Document::open(data.view(end)) else {
            f.disallow(
                None,
                format!("không đọc được bản cập nhật kết thúc ở byte {end}"),
                format!("the update ending at byte {end} cannot be read"),
            );
            return f;
        };
        next.set_interrupt(interrupt.cloned());
        f.changed = true;
        if next.repair_reason().is_some() {
            f.disallow(
                Some(Attack::Shadow),
                "bảng tham chiếu chéo của bản cập nhật bị hỏng".into(),
                format!("the cross-reference data of the update ending at byte {end} is damaged"),
            );
        }
        if let Some(d) = next.xref_disagreements().iter().find(|d| !signed_disagreements.contains(&d.object)) {
            f.disallow(
                Some(Attack::XrefDifferential),
                format!("bản cập nhật kết thúc ở byte {end} làm cho trình đọc bảng và trình đọc luồng tham chiếu thấy đối tượng {} khác nhau", d.object),
                format!(
                    "the update ending at byte {end} makes object {} resolve differently for table-only and stream-aware readers (a later /XRefStm redefining what a table said)",
                    d.object
                ),
            );
        }
        if next.root_ref() != root_signed {
            f.disallow(Some(Attack::Shadow), "bản cập nhật thay đổi /Root".into(), "an update points /Root at another catalog".into());
        }
        let (old_entries, new_entries) = (entries(&prev), entries(&next));
        // Fields being signed in this update, and the objects their old appearances used.
        let mut filled_widgets: HashSet<u32> = HashSet::new();
        for (&num, new_e) in &new_entries {
            let old_e = old_entries.get(&num).copied().unwrap_or(XrefEntry::Free);
            if &old_e == new_e {
                continue;
            }
            if let (Ok(Object::Dict(o)), Ok(Object::Dict(n))) = (prev.get(ObjRef::new(num, 0)), next.get(ObjRef::new(num, 0)))
                && is_sig_field(&n)
                && !o.contains(b"V")
                && n.contains(b"V")
            {
                filled_widgets.insert(num);
                for k in refs_in(n.get(b"Kids")) {
                    filled_widgets.insert(k);
                }
            }
        }
        for (&num, new_e) in &new_entries {
            let old_e = old_entries.get(&num).copied().unwrap_or(XrefEntry::Free);
            if &old_e == new_e {
                continue;
            }
            let generation = |e: XrefEntry| match e {
                XrefEntry::InFile { generation, .. } => generation,
                _ => 0,
            };
            let new_obj = if matches!(new_e, XrefEntry::Free) {
                Object::Null
            } else {
                next.get(ObjRef::new(num, generation(*new_e))).unwrap_or(Object::Null)
            };
            if matches!(old_e, XrefEntry::Free) {
                // A new object is harmless unless the signed revision already referred to that
                // number: then it fills a dangling reference and changes what was signed.
                if let Some(users) = signed_refs.get(&num) {
                    let by = users.iter().find(|u| **u != num).copied();
                    let by =
                        by.map_or("the trailer".to_string(), |u| if u == u32::MAX { "the trailer".into() } else { format!("object {u}") });
                    f.disallow(
                        Some(Attack::Shadow),
                        format!("đối tượng {num}, được phiên bản đã ký tham chiếu nhưng chưa tồn tại, được định nghĩa sau khi ký"),
                        format!("object {num}, referred to by {by} in the signed revision but absent there, was defined after signing (a dangling reference filled)"),
                    );
                }
                continue;
            }
            let old_obj = prev.get(ObjRef::new(num, generation(old_e))).unwrap_or(Object::Null);
            if old_obj == new_obj {
                continue; // rewritten unchanged (object streams, Adobe's habits)
            }
            if let Object::Stream(s) = &old_obj
                && (s.dict.is_type(b"ObjStm") || s.dict.is_type(b"XRef"))
            {
                continue;
            }
            // Indirect /Annots or /Fields arrays are compared by content.
            let resolve_annots = |d: &mut Doc, o: Object| -> Object {
                match o {
                    Object::Dict(mut dict) => {
                        for key in [&b"Annots"[..], b"Fields"] {
                            if let Some(Object::Ref(r)) = dict.get(key).cloned()
                                && let Ok(a @ Object::Array(_)) = d.get(r)
                            {
                                dict.set(key, a);
                            }
                        }
                        Object::Dict(dict)
                    }
                    other => other,
                }
            };
            let old_obj = resolve_annots(&mut prev, old_obj);
            let new_obj = resolve_annots(&mut next, new_obj);
            if let (Object::Dict(o), Object::Dict(n)) = (&old_obj, &new_obj)
                && o.is_type(b"Page")
            {
                judge_added_annotations(&mut f, &mut next, o, n, docmdp);
            }
            judge(
                &mut f,
                num,
                &old_obj,
                &new_obj,
                &Ctx { root: root_signed.num, metadata, info, signed_refs: &signed_refs, filled: &filled_widgets, docmdp, locked },
            );
        }
        for (&num, old_e) in &old_entries {
            if !matches!(old_e, XrefEntry::Free) && !new_entries.contains_key(&num) {
                f.disallow(
                    Some(Attack::Shadow),
                    format!("đối tượng {num} bị xoá"),
                    format!("object {num} disappeared in a later revision"),
                );
            }
        }
        prev = next;
    }
    f
}

/// A page's `/Annots` may grow only by the widgets of signature fields. Any other annotation
/// added after a signature (a FreeText, Stamp, Ink or Square painting over the page, a widget
/// of another field) is DISALLOWED: under a certification signature it is the evil annotation
/// attack; without one Kyso still fails closed (its workflows never annotate signed files).
fn judge_added_annotations(f: &mut Findings, next: &mut Doc, old: &Dict, new: &Dict, docmdp: Option<i64>) {
    let before = refs_in(old.get(b"Annots"));
    for r in refs_in(new.get(b"Annots")).into_iter().filter(|r| !before.contains(r)) {
        let Ok(Object::Dict(a)) = next.get(ObjRef::new(r, 0)) else {
            f.disallow(
                None,
                format!("chú thích {r} thêm vào trang không đọc được"),
                format!("annotation {r} added to a page cannot be read"),
            );
            continue;
        };
        let subtype = a.name(b"Subtype").map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_else(|| "?".into());
        let parent_is_sig = match a.get(b"Parent") {
            Some(Object::Ref(p)) => matches!(next.get(*p), Ok(Object::Dict(pd)) if pd.name(b"FT") == Some(b"Sig")),
            _ => false,
        };
        let signature_widget = subtype == "Widget" && (a.name(b"FT") == Some(b"Sig") || parent_is_sig);
        if signature_widget {
            continue;
        }
        let attack = docmdp.map(|_| Attack::CertificationAbuse);
        f.disallow(
            attack,
            format!("chú thích /{subtype} (đối tượng {r}) được thêm vào trang sau khi ký"),
            format!("a /{subtype} annotation (object {r}) was added to a page after signing"),
        );
    }
}

struct Ctx<'a> {
    root: u32,
    metadata: Option<ObjRef>,
    info: Option<ObjRef>,
    signed_refs: &'a HashMap<u32, Vec<u32>>,
    filled: &'a HashSet<u32>,
    docmdp: Option<i64>,
    locked: &'a dyn Fn(&str) -> bool,
}

fn judge(f: &mut Findings, num: u32, old: &Object, new: &Object, c: &Ctx) {
    let shadow = |f: &mut Findings, what: &str| {
        f.disallow(
            Some(Attack::Shadow),
            format!("đối tượng {num} đã ký bị thay đổi ({what})"),
            format!("signed object {num} was changed after signing ({what})"),
        )
    };
    if matches!(new, Object::Null) {
        return shadow(f, "freed");
    }
    if c.docmdp == Some(1) {
        f.disallow(
            Some(Attack::CertificationAbuse),
            "tài liệu chứng thực không cho phép thay đổi".into(),
            format!("object {num} changed although the certification allows no changes"),
        );
    }
    if Some(num) == c.metadata.map(|r| r.num) || Some(num) == c.info.map(|r| r.num) {
        return; // XMP metadata and the Info dictionary do not change what is shown
    }
    // An old object used only by the appearance of a field filled now may be replaced.
    let only_filled_widgets_use = |n: u32| -> bool {
        let users = c.signed_refs.get(&n).cloned().unwrap_or_default();
        !users.is_empty()
            && users.iter().all(|u| {
                c.filled.contains(u) || c.signed_refs.get(u).is_some_and(|uu| !uu.is_empty() && uu.iter().all(|x| c.filled.contains(x)))
            })
    };
    match (old, new) {
        (Object::Dict(o), Object::Dict(n)) if num == c.root => {
            for k in differing_keys(o, n) {
                if !matches!(k.as_str(), "AcroForm" | "DSS" | "Metadata" | "Perms" | "Extensions" | "Version")
                    || (k == "Perms" && o.contains(b"Perms"))
                {
                    shadow(f, &format!("catalog /{k}"));
                }
            }
        }
        (Object::Dict(o), Object::Dict(n)) if is_sig_dict(o) => {
            let _ = n;
            f.disallow(
                Some(Attack::DictionarySpoofing),
                "từ điển chữ ký bị viết lại sau khi ký".into(),
                format!("signature dictionary {num} was rewritten after signing"),
            );
        }
        (Object::Dict(o), Object::Dict(n)) if is_sig_field(o) || is_sig_field(n) => {
            let name = n.get(b"T").and_then(Object::as_bytes).map(kyso_pdf::fields::decode_text).unwrap_or_default();
            for k in differing_keys(o, n) {
                match k.as_str() {
                    "V" if o.contains(b"V") => f.disallow(
                        Some(Attack::DictionarySpoofing),
                        format!("trường {name} đổi chữ ký"),
                        format!("field {name} was given another signature"),
                    ),
                    "V" => {
                        if (c.locked)(&name) {
                            f.disallow(
                                None,
                                format!("trường {name} đã bị khoá"),
                                format!("field {name} is locked by this signature (FieldMDP) but was signed later"),
                            );
                        }
                    }
                    "AP" => {
                        if let Some(Object::Ref(r)) = o.get(b"AP")
                            && !only_filled_widgets_use(r.num)
                        {
                            shadow(f, "an appearance that other signed objects use");
                        }
                    }
                    "AS" | "MK" | "DA" | "F" | "Lock" | "SV" | "P" | "Rect" | "Kids" | "Parent" | "Type" | "Subtype" | "FT" | "T" => {}
                    other => shadow(f, &format!("signature field /{other}")),
                }
            }
        }
        (Object::Dict(o), Object::Dict(n)) if o.is_type(b"Page") => {
            for k in differing_keys(o, n) {
                if k != "Annots" {
                    shadow(f, &format!("page /{k}"));
                } else if !refs_in(o.get(b"Annots")).iter().all(|a| refs_in(n.get(b"Annots")).contains(a)) {
                    shadow(f, "annotations removed from a page");
                }
            }
        }
        (Object::Dict(o), Object::Dict(n)) if o.contains(b"Fields") || o.contains(b"SigFlags") => {
            for k in differing_keys(o, n) {
                match k.as_str() {
                    "Fields" if refs_in(o.get(b"Fields")).iter().all(|x| refs_in(n.get(b"Fields")).contains(x)) => {}
                    "SigFlags" | "DR" | "DA" => {}
                    other => shadow(f, &format!("AcroForm /{other}")),
                }
            }
        }
        (Object::Dict(o), Object::Dict(_)) if o.is_type(b"DSS") => {}
        (Object::Array(o), Object::Array(n)) => {
            // An indirect /Annots or /Fields array may only grow.
            let (o, n): (Vec<_>, Vec<_>) = (o.iter().filter_map(Object::as_ref).collect(), n.iter().filter_map(Object::as_ref).collect());
            if !o.iter().all(|x| n.contains(x)) {
                shadow(f, "entries removed from an array");
            }
        }
        (Object::Stream(_), _) if only_filled_widgets_use(num) => {}
        (Object::Dict(o), _) if o.name(b"Subtype") == Some(b"Widget") || o.contains(b"FT") => f.disallow(
            Some(Attack::Shadow),
            format!("trường biểu mẫu {num} bị thay đổi sau khi ký"),
            format!("form field {num} was changed after signing (Kyso accepts only signature fields after a signature)"),
        ),
        _ => shadow(f, "content"),
    }
}
