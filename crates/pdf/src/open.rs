//! Opening a PDF for an incremental update: the checks every signer and field editor needs
//! before it appends a byte, in one place (the CLI and the service share it).

use crate::error::{Error, Result};
use crate::reader::Document;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

/// The bytes an update is appended to: the original file, or a clean rewrite of a damaged one.
pub enum UpdateSource<R, S> {
    Original(R),
    Rewritten(S),
}

impl<R: Read, S: Read> Read for UpdateSource<R, S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            UpdateSource::Original(r) => r.read(buf),
            UpdateSource::Rewritten(s) => s.read(buf),
        }
    }
}

impl<R: Seek, S: Seek> Seek for UpdateSource<R, S> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            UpdateSource::Original(r) => r.seek(pos),
            UpdateSource::Rewritten(s) => s.seek(pos),
        }
    }
}

/// Opens `src` for an incremental update.
///
/// - A hybrid-reference file whose two readings disagree (a table-only reader and a PDF 1.5
///   reader would see different objects) is refused: what would be signed is not what every
///   viewer shows. Word's ordinary layout opens as it is.
/// - A damaged file (cross-references rebuilt by scanning) is first rewritten in full into the
///   scratch space `scratch` gives, so every reader sees the same objects in what is signed.
///   A damaged file that already carries signatures is refused: rewriting would break them.
pub fn open_for_update<R, S>(src: R, scratch: impl FnOnce() -> std::io::Result<S>) -> Result<Document<UpdateSource<R, S>>>
where
    R: Read + Seek,
    S: Read + Write + Seek,
{
    let mut doc = Document::open(UpdateSource::Original(src))?;
    refuse_disagreements(&doc)?;
    if doc.repair_reason().is_some() {
        let mut tmp = scratch()?;
        {
            let mut w = BufWriter::new(&mut tmp);
            crate::writer::rewrite(&mut doc, &mut w)?;
            w.flush()?;
        }
        tmp.rewind()?;
        doc = Document::open(UpdateSource::Rewritten(tmp))?;
    }
    Ok(doc)
}

fn refuse_disagreements<R: Read + Seek>(doc: &Document<R>) -> Result<()> {
    let found = doc.xref_disagreements();
    if found.is_empty() {
        return Ok(());
    }
    let mut objects: Vec<String> = found.iter().take(8).map(|d| d.object.to_string()).collect();
    if found.len() > 8 {
        objects.push(format!("and {} more", found.len() - 8));
    }
    Err(Error::XrefDisagreement { objects: objects.join(", ") })
}
