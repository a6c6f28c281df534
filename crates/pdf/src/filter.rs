//! Stream decoding, only what xref and object streams need: FlateDecode with PNG/TIFF predictors.

use crate::error::{Error, Result};
use crate::object::{Dict, Object};
use std::io::Read;

/// Decoded streams larger than this are refused (zip bombs).
pub const MAX_DECODED: u64 = 256 << 20;

pub(crate) fn decode(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>> {
    let filters: Vec<&[u8]> = match dict.get(b"Filter") {
        None => vec![],
        Some(Object::Name(n)) => vec![n],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => return Err(Error::malformed("stream /Filter is neither a name nor an array")),
    };
    let parms = match dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => Some(d),
        Some(Object::Array(a)) => a.first().and_then(Object::as_dict),
        _ => None,
    };
    let mut data = raw.to_vec();
    for f in filters {
        data = match f {
            b"FlateDecode" | b"Fl" => {
                let inflated = inflate(&data)?;
                match parms {
                    Some(p) => unpredict(p, inflated)?,
                    None => inflated,
                }
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "stream filter /{} in a cross-reference or object stream",
                    String::from_utf8_lossy(other)
                )));
            }
        };
    }
    Ok(data)
}

fn inflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let zlib = flate2::read::ZlibDecoder::new(data).take(MAX_DECODED + 1).read_to_end(&mut out);
    if zlib.is_err() {
        // Some writers omit the zlib header, or truncate the checksum; keep what inflated.
        if out.is_empty() {
            out.clear();
            flate2::read::DeflateDecoder::new(data)
                .take(MAX_DECODED + 1)
                .read_to_end(&mut out)
                .map_err(|e| Error::malformed(format!("compressed stream is damaged: {e}")))?;
        }
    }
    if out.len() as u64 > MAX_DECODED {
        return Err(Error::malformed("compressed stream expands beyond 256 MiB"));
    }
    Ok(out)
}

fn unpredict(parms: &Dict, data: Vec<u8>) -> Result<Vec<u8>> {
    let predictor = parms.get(b"Predictor").and_then(Object::as_i64).unwrap_or(1);
    if predictor < 10 {
        if predictor == 2 {
            return Err(Error::Unsupported("TIFF predictor in a cross-reference stream".into()));
        }
        return Ok(data);
    }
    let colors = parms.get(b"Colors").and_then(Object::as_i64).unwrap_or(1).clamp(1, 32) as usize;
    let bpc = parms.get(b"BitsPerComponent").and_then(Object::as_i64).unwrap_or(8).clamp(1, 16) as usize;
    let columns = parms.get(b"Columns").and_then(Object::as_i64).unwrap_or(1).clamp(1, 1 << 20) as usize;
    let bpp = (colors * bpc).div_ceil(8).max(1);
    let row_len = (colors * bpc * columns).div_ceil(8);
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        if chunk.len() < row_len + 1 {
            break;
        }
        let (tag, row) = (chunk[0], &chunk[1..]);
        let mut cur = row.to_vec();
        for i in 0..row_len {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match tag {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((left as u16 + up as u16) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(left, up, up_left)),
                _ => return Err(Error::malformed("unknown PNG predictor row tag")),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = a as i16 + b as i16 - c as i16;
    let (pa, pb, pc) = ((p - a as i16).abs(), (p - b as i16).abs(), (p - c as i16).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Compresses `data` for a new stream we write. The fast level: our streams are small (a font
/// subset, an appearance) and written once per signature, where level 6 costs several times the
/// time for a few per cent of size.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}
