//! Visible signature appearances: Vietnamese text in an embedded, subset Unicode font (DejaVu
//! Sans, Type 0 / CIDFontType2, Identity-H, with `/ToUnicode`) and an optional PNG image whose
//! alpha channel becomes a soft mask.

use crate::error::{Error, Result};
use crate::fields::{Appearance, AppearanceSpec};
use crate::filter::deflate;
use crate::object::{Dict, ObjRef, Object, Stream, StringStyle};
use std::fmt::Write as _;
use unicode_normalization::UnicodeNormalization;

/// DejaVu Sans covers the whole Vietnamese alphabet; its licence is in `fonts/DejaVu-LICENSE.txt`.
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// A decoded image: 8-bit RGB samples and an optional 8-bit alpha plane.
#[derive(Clone, Debug)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub alpha: Option<Vec<u8>>,
}

impl Image {
    /// Decodes a PNG (any colour type and bit depth) into RGB plus alpha.
    pub fn from_png(bytes: &[u8]) -> Result<Self> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(|e| Error::Unsupported(format!("the signature image is not a readable PNG: {e}")))?;
        let size = reader.output_buffer_size().ok_or_else(|| Error::Unsupported("the PNG image is too large".into()))?;
        if size > 64 << 20 {
            return Err(Error::Unsupported("the PNG image is larger than 64 MiB once decoded".into()));
        }
        let mut buf = vec![0; size];
        let info =
            reader.next_frame(&mut buf).map_err(|e| Error::Unsupported(format!("the signature image is not a readable PNG: {e}")))?;
        let buf = &buf[..info.buffer_size()];
        let (mut rgb, mut alpha) = (Vec::new(), Vec::new());
        let has_alpha = matches!(info.color_type, png::ColorType::Rgba | png::ColorType::GrayscaleAlpha);
        let channels = info.color_type.samples();
        for px in buf.chunks_exact(channels) {
            match info.color_type {
                png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => rgb.extend_from_slice(&[px[0], px[0], px[0]]),
                _ => rgb.extend_from_slice(&px[..3]),
            }
            if has_alpha {
                alpha.push(px[channels - 1]);
            }
        }
        Ok(Image { width: info.width, height: info.height, rgb, alpha: has_alpha.then_some(alpha) })
    }
}

/// Builds the form XObject for a widget of `width` × `height` on a page turned by `rotate` degrees.
pub fn build(spec: &AppearanceSpec, width: f64, height: f64, rotate: i64) -> Result<Appearance> {
    let rotate = rotate.rem_euclid(360);
    // Draw upright in the viewer's frame: on a turned page, the box is turned too.
    let (w, h) = if rotate == 90 || rotate == 270 { (height, width) } else { (width, height) };
    let face = ttf_parser::Face::parse(FONT, 0).map_err(|_| Error::Unsupported("the embedded font cannot be read".into()))?;
    let units = face.units_per_em() as f64;

    let mut extra = Vec::new();
    let mut resources = Dict::new();
    let mut content = String::new();
    let mut text_x = 2.0;
    if let Some(img) = &spec.image {
        // The image takes the left part of the box (at most 40% when there is text).
        let max_w = if spec.lines.is_empty() { w } else { w * 0.4 };
        let scale = (max_w / img.width as f64).min(h / img.height as f64);
        let (iw, ih) = (img.width as f64 * scale, img.height as f64 * scale);
        let (img_ref, smask_ref) = (ObjRef::new(900_001, 0), ObjRef::new(900_002, 0));
        let mut img_dict = Dict::new()
            .with(b"Type", Object::name(b"XObject"))
            .with(b"Subtype", Object::name(b"Image"))
            .with(b"Width", img.width as i64)
            .with(b"Height", img.height as i64)
            .with(b"ColorSpace", Object::name(b"DeviceRGB"))
            .with(b"BitsPerComponent", 8i64)
            .with(b"Filter", Object::name(b"FlateDecode"));
        if let Some(alpha) = &img.alpha {
            let smask = Dict::new()
                .with(b"Type", Object::name(b"XObject"))
                .with(b"Subtype", Object::name(b"Image"))
                .with(b"Width", img.width as i64)
                .with(b"Height", img.height as i64)
                .with(b"ColorSpace", Object::name(b"DeviceGray"))
                .with(b"BitsPerComponent", 8i64)
                .with(b"Filter", Object::name(b"FlateDecode"));
            extra.push((smask_ref, Object::Stream(Stream::new(smask, deflate(alpha)))));
            img_dict.set(b"SMask", smask_ref);
        }
        extra.push((img_ref, Object::Stream(Stream::new(img_dict, deflate(&img.rgb)))));
        resources.set(b"XObject", Dict::new().with(b"Im1", img_ref));
        let _ = writeln!(content, "q {} 0 0 {} 1 {} cm /Im1 Do Q", fmt(iw), fmt(ih), fmt((h - ih) / 2.0));
        text_x = iw + 4.0;
    }

    if !spec.lines.is_empty() {
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut to_unicode: Vec<(u16, char)> = Vec::new();
        let mut encoded_lines = Vec::new();
        let mut widest = 0.0f64;
        for line in &spec.lines {
            let mut hex = String::new();
            let mut advance = 0.0;
            // Composed form: "ệ" typed as e + U+0323 + U+0302 becomes the one glyph the font has
            // (there is no shaping engine here to place combining marks).
            for ch in line.nfc() {
                let Some(gid) = face.glyph_index(ch) else {
                    return Err(Error::Unsupported(format!("the character {ch:?} is not in the signature font")));
                };
                let new = remapper.remap(gid.0);
                if !to_unicode.iter().any(|(g, _)| *g == new) {
                    to_unicode.push((new, ch));
                }
                advance += face.glyph_hor_advance(gid).unwrap_or(0) as f64 / units;
                let _ = write!(hex, "{new:04X}");
            }
            widest = widest.max(advance);
            encoded_lines.push(hex);
        }
        let n = spec.lines.len() as f64;
        let avail_w = (w - text_x - 2.0).max(1.0);
        let size = (avail_w / widest.max(0.01)).min((h - 4.0).max(1.0) / (n * 1.2)).clamp(1.0, 14.0);
        let leading = size * 1.2;
        let top = h - 2.0 - size * 0.95 - ((h - 4.0) - n * leading).max(0.0) / 2.0;
        let _ = writeln!(content, "BT /F1 {} Tf 0.1 0.2 0.6 rg {} TL {} {} Td", fmt(size), fmt(leading), fmt(text_x), fmt(top));
        for (i, hex) in encoded_lines.iter().enumerate() {
            if i > 0 {
                content.push_str("T*\n");
            }
            let _ = writeln!(content, "<{hex}> Tj");
        }
        content.push_str("ET\n");
        let font_ref = font_objects(&face, &remapper, &to_unicode, &mut extra)?;
        resources.set(b"Font", Dict::new().with(b"F1", font_ref));
    }

    let matrix = match rotate {
        90 => [0.0, 1.0, -1.0, 0.0, h, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0, w, h],
        270 => [0.0, -1.0, 1.0, 0.0, 0.0, w],
        _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    };
    let dict = Dict::new()
        .with(b"Type", Object::name(b"XObject"))
        .with(b"Subtype", Object::name(b"Form"))
        .with(b"BBox", vec![Object::Integer(0), Object::Integer(0), Object::Real(w), Object::Real(h)])
        .with(b"Matrix", matrix.iter().map(|v| Object::Real(*v)).collect::<Vec<_>>())
        .with(b"Resources", resources)
        .with(b"Filter", Object::name(b"FlateDecode"));
    Ok(Appearance { xobject: Stream::new(dict, deflate(content.as_bytes())), extra })
}

fn font_objects(
    face: &ttf_parser::Face,
    remapper: &subsetter::GlyphRemapper,
    to_unicode: &[(u16, char)],
    extra: &mut Vec<(ObjRef, Object)>,
) -> Result<ObjRef> {
    let units = face.units_per_em() as f64;
    let scale = |v: f64| (v * 1000.0 / units).round() as i64;
    let subset = subsetter::subset(FONT, 0, remapper).map_err(|e| Error::Unsupported(format!("font subsetting failed: {e:?}")))?;
    let (type0, cid, descriptor, file, cmap) =
        (ObjRef::new(900_010, 0), ObjRef::new(900_011, 0), ObjRef::new(900_012, 0), ObjRef::new(900_013, 0), ObjRef::new(900_014, 0));
    // A subset font's name carries a six-letter tag derived from its glyphs.
    let tag: String = {
        let mut h: u32 = 2166136261;
        for g in remapper.remapped_gids() {
            h = (h ^ g as u32).wrapping_mul(16777619);
        }
        (0..6).map(|i| (b'A' + ((h >> (i * 5)) % 26) as u8) as char).collect()
    };
    let base_font = format!("{tag}+DejaVuSans");
    let bbox = face.global_bounding_box();
    let mut widths = Vec::new();
    for (new, old) in remapper.remapped_gids().enumerate() {
        let adv = face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0) as f64;
        widths.push(Object::Integer(new as i64));
        widths.push(Object::Array(vec![Object::Integer(scale(adv))]));
    }
    extra.push((
        file,
        Object::Stream(Stream::new(
            Dict::new().with(b"Length1", subset.len() as i64).with(b"Filter", Object::name(b"FlateDecode")),
            deflate(&subset),
        )),
    ));
    extra.push((
        descriptor,
        Object::Dict(
            Dict::new()
                .with(b"Type", Object::name(b"FontDescriptor"))
                .with(b"FontName", Object::name(base_font.as_bytes()))
                .with(b"Flags", 32i64)
                .with(
                    b"FontBBox",
                    vec![
                        scale(bbox.x_min as f64).into(),
                        scale(bbox.y_min as f64).into(),
                        scale(bbox.x_max as f64).into(),
                        scale(bbox.y_max as f64).into(),
                    ],
                )
                .with(b"ItalicAngle", 0i64)
                .with(b"Ascent", scale(face.ascender() as f64))
                .with(b"Descent", scale(face.descender() as f64))
                .with(b"CapHeight", scale(face.capital_height().unwrap_or(face.ascender()) as f64))
                .with(b"StemV", 80i64)
                .with(b"FontFile2", file),
        ),
    ));
    extra.push((
        cid,
        Object::Dict(
            Dict::new()
                .with(b"Type", Object::name(b"Font"))
                .with(b"Subtype", Object::name(b"CIDFontType2"))
                .with(b"BaseFont", Object::name(base_font.as_bytes()))
                .with(
                    b"CIDSystemInfo",
                    Dict::new()
                        .with(b"Registry", Object::String(b"Adobe".to_vec(), StringStyle::Literal))
                        .with(b"Ordering", Object::String(b"Identity".to_vec(), StringStyle::Literal))
                        .with(b"Supplement", 0i64),
                )
                .with(b"FontDescriptor", descriptor)
                .with(b"DW", 1000i64)
                .with(b"W", Object::Array(widths))
                .with(b"CIDToGIDMap", Object::name(b"Identity")),
        ),
    ));
    extra.push((
        cmap,
        Object::Stream(Stream::new(
            Dict::new().with(b"Filter", Object::name(b"FlateDecode")),
            deflate(to_unicode_cmap(to_unicode).as_bytes()),
        )),
    ));
    extra.push((
        type0,
        Object::Dict(
            Dict::new()
                .with(b"Type", Object::name(b"Font"))
                .with(b"Subtype", Object::name(b"Type0"))
                .with(b"BaseFont", Object::name(base_font.as_bytes()))
                .with(b"Encoding", Object::name(b"Identity-H"))
                .with(b"DescendantFonts", vec![Object::Ref(cid)])
                .with(b"ToUnicode", cmap),
        ),
    ));
    Ok(type0)
}

/// The `/ToUnicode` CMap (PDF 2.0 §9.10.3) mapping each subset glyph back to its character.
fn to_unicode_cmap(map: &[(u16, char)]) -> String {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in map.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (gid, ch) in chunk {
            let mut units = [0u16; 2];
            let hex: String = ch.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(s, "<{gid:04X}> <{hex}>");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

fn fmt(v: f64) -> String {
    Object::Real(v).to_bytes().into_iter().map(|b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyph_count(text: &str) -> usize {
        let spec = AppearanceSpec { lines: vec![text.into()], image: None };
        let ap = build(&spec, 200.0, 50.0, 0).unwrap();
        let cid = ap.extra.iter().find_map(|(_, o)| o.as_dict().filter(|d| d.name(b"Subtype") == Some(b"CIDFontType2")).cloned()).unwrap();
        cid.get(b"W").and_then(Object::as_array).unwrap().len() / 2
    }

    #[test]
    fn decomposed_vietnamese_is_composed_before_layout() {
        // "Nguyễn" typed with combining tone marks (NFD) uses the same glyphs as the composed form.
        assert_eq!(glyph_count("Nguye\u{0302}\u{0303}n"), glyph_count("Nguyễn"));
    }

    #[test]
    fn rotated_pages_turn_the_box() {
        let spec = AppearanceSpec { lines: vec!["Ký bởi".into()], image: None };
        let ap = build(&spec, 200.0, 50.0, 90).unwrap();
        let bbox: Vec<f64> = ap.xobject.dict.get(b"BBox").and_then(Object::as_array).unwrap().iter().filter_map(Object::as_f64).collect();
        assert_eq!(bbox, vec![0.0, 0.0, 50.0, 200.0]);
        let m: Vec<f64> = ap.xobject.dict.get(b"Matrix").and_then(Object::as_array).unwrap().iter().filter_map(Object::as_f64).collect();
        assert_eq!(m, vec![0.0, 1.0, -1.0, 0.0, 200.0, 0.0]);
    }
}
