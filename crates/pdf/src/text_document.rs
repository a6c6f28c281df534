//! A new, small PDF made of text pages (the auditor's validation report): A4 pages, each a form
//! XObject from [`crate::appearance::build`] (DejaVu Sans subset, so Vietnamese renders), a
//! classic cross-reference table. Not for editing documents; for writing a fresh one.

use crate::appearance::build;
use crate::error::Result;
use crate::fields::AppearanceSpec;
use crate::object::{Dict, ObjRef, Object, Stream};
use std::collections::HashMap;

const A4: (f64, f64) = (595.0, 842.0);
const MARGIN: f64 = 40.0;

/// Lines per page that keep the text at about 10 pt.
pub const LINES_PER_PAGE: usize = 62;

/// `lines` cut into pages of [`LINES_PER_PAGE`], each ending with a blank line and
/// `footer(page, total)` (page numbers from 1), ready for [`text_pdf`].
pub fn paginate(lines: &[String], footer: impl Fn(usize, usize) -> String) -> Vec<Vec<String>> {
    let per_page = LINES_PER_PAGE - 2;
    let chunks: Vec<&[String]> = lines.chunks(per_page).collect();
    let total = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut p = c.to_vec();
            p.resize(per_page, String::new());
            p.push(String::new());
            p.push(footer(i + 1, total));
            p
        })
        .collect()
}

/// Writes a PDF whose pages show `pages` (lines of text, top to bottom), titled `title`.
pub fn text_pdf(title: &str, pages: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut objects: Vec<Object> = Vec::new(); // object n is objects[n - 1]
    let alloc = |objects: &mut Vec<Object>| {
        objects.push(Object::Null);
        ObjRef::new(objects.len() as u32, 0)
    };
    let catalog = alloc(&mut objects);
    let page_tree = alloc(&mut objects);
    let info = alloc(&mut objects);
    let mut kids = Vec::new();
    let (w, h) = (A4.0 - 2.0 * MARGIN, A4.1 - 2.0 * MARGIN);
    for lines in pages {
        // Pad short pages so every page has the same text size.
        let mut padded = lines.clone();
        padded.resize(LINES_PER_PAGE.max(lines.len()), String::new());
        let padded: Vec<String> = padded.into_iter().map(|l| if l.is_empty() { " ".into() } else { l }).collect();
        let ap = build(&AppearanceSpec { lines: padded, image: None }, w, h, 0)?;
        let mut map = HashMap::new();
        for (placeholder, _) in &ap.extra {
            map.insert(*placeholder, alloc(&mut objects));
        }
        for (placeholder, obj) in ap.extra {
            let at = map[&placeholder];
            objects[at.num as usize - 1] = crate::fields::renumber(obj, &map);
        }
        let form = alloc(&mut objects);
        objects[form.num as usize - 1] = crate::fields::renumber(Object::Stream(ap.xobject), &map);
        let content = alloc(&mut objects);
        objects[content.num as usize - 1] =
            Object::Stream(Stream::new(Dict::new(), format!("q 1 0 0 1 {MARGIN} {MARGIN} cm /R0 Do Q\n").into_bytes()));
        let page = alloc(&mut objects);
        objects[page.num as usize - 1] = Object::Dict(
            Dict::new()
                .with(b"Type", Object::name(b"Page"))
                .with(b"Parent", page_tree)
                .with(b"MediaBox", vec![Object::Integer(0), Object::Integer(0), Object::Real(A4.0), Object::Real(A4.1)])
                .with(b"Resources", Dict::new().with(b"XObject", Dict::new().with(b"R0", form)))
                .with(b"Contents", content),
        );
        kids.push(Object::Ref(page));
    }
    let count = kids.len() as i64;
    objects[page_tree.num as usize - 1] =
        Object::Dict(Dict::new().with(b"Type", Object::name(b"Pages")).with(b"Kids", kids).with(b"Count", count));
    objects[catalog.num as usize - 1] = Object::Dict(Dict::new().with(b"Type", Object::name(b"Catalog")).with(b"Pages", page_tree));
    objects[info.num as usize - 1] = Object::Dict(Dict::new().with(b"Title", Object::text(title)).with(b"Producer", Object::text("Kyso")));

    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        obj.write(&mut out);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    let trailer = Dict::new().with(b"Size", objects.len() as i64 + 1).with(b"Root", catalog).with(b"Info", info);
    out.extend_from_slice(b"trailer\n");
    Object::Dict(trailer).write(&mut out);
    out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_pdf_reads_back() {
        let pdf =
            text_pdf("Báo cáo", &[vec!["Kết quả: HỢP LỆ".into(), "Người ký: Nguyễn Thị Hương".into()], vec!["trang 2".into()]]).unwrap();
        let mut doc = crate::Document::open(std::io::Cursor::new(pdf)).unwrap();
        assert_eq!(doc.pages().unwrap().len(), 2);
        assert!(doc.repair_reason().is_none(), "the xref table is exact");
    }
}
