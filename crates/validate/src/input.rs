//! The file under validation, read by range and never held whole: the validator hashes byte
//! ranges, opens each revision as the prefix of the file it ends, and looks for keywords in
//! chunks, so memory depends on what is read at once (1 MiB chunks, one object window), not on the
//! file's size. A file is read with positioned reads (`pread`), so many views share one handle.

use std::io::{self, Read, Seek, SeekFrom};

const CHUNK: usize = 1 << 20;

/// Bytes in memory, or an open file and its length.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    Memory(&'a [u8]),
    File(&'a std::fs::File, u64),
}

impl<'a> Input<'a> {
    pub fn file(f: &'a std::fs::File) -> io::Result<Self> {
        Ok(Input::File(f, f.metadata()?.len()))
    }

    pub fn len(&self) -> u64 {
        match self {
            Input::Memory(d) => d.len() as u64,
            Input::File(_, n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `pos` (short at the end of the input); returns the bytes read.
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Memory(d) => {
                let start = (pos as usize).min(d.len());
                let n = buf.len().min(d.len() - start);
                buf[..n].copy_from_slice(&d[start..start + n]);
                Ok(n)
            }
            Input::File(f, len) => {
                use std::os::unix::fs::FileExt;
                let want = buf.len().min(len.saturating_sub(pos) as usize);
                let mut done = 0;
                while done < want {
                    let n = f.read_at(&mut buf[done..want], pos + done as u64)?;
                    if n == 0 {
                        break;
                    }
                    done += n;
                }
                Ok(done)
            }
        }
    }

    /// The bytes `[from, to)` (the caller bounds how many).
    pub fn range(&self, from: u64, to: u64) -> io::Result<Vec<u8>> {
        let to = to.min(self.len());
        let mut buf = vec![0; to.saturating_sub(from) as usize];
        let n = self.read_at(from, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Feeds the bytes of each range to `sink`, in chunks.
    pub fn stream(&self, ranges: &[(u64, u64)], sink: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        let mut buf = vec![0; CHUNK];
        for &(from, to) in ranges {
            let mut pos = from;
            while pos < to {
                let want = ((to - pos) as usize).min(CHUNK);
                let n = self.read_at(pos, &mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file ended inside a signed range"));
                }
                sink(&buf[..n]);
                pos += n as u64;
            }
        }
        Ok(())
    }

    /// Every position where `needle` starts, found chunk by chunk (a match across a chunk
    /// boundary is found too).
    pub fn find_all(&self, needle: &[u8]) -> io::Result<Vec<u64>> {
        let mut out = Vec::new();
        let overlap = needle.len().saturating_sub(1);
        let mut buf = vec![0; CHUNK + overlap];
        let mut pos = 0u64;
        let len = self.len();
        while pos < len {
            let n = self.read_at(pos, &mut buf)?;
            if n == 0 {
                break;
            }
            let mut i = 0;
            while let Some(p) = buf[i..n].windows(needle.len()).position(|w| w == needle) {
                let at = pos + (i + p) as u64;
                if out.last() != Some(&at) {
                    out.push(at);
                }
                i += p + 1;
            }
            if pos + n as u64 >= len {
                break;
            }
            pos += CHUNK as u64;
        }
        Ok(out)
    }

    /// A reader over `[0, end)`: the file as it stood when the revision ending at `end` was
    /// written.
    pub fn view(&self, end: u64) -> View<'a> {
        View { input: *self, pos: 0, end: end.min(self.len()) }
    }
}

/// A `Read + Seek` window onto the start of an [`Input`].
#[derive(Clone)]
pub struct View<'a> {
    input: Input<'a>,
    pos: u64,
    end: u64,
}

impl Read for View<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.end.saturating_sub(self.pos) as usize);
        let n = self.input.read_at(self.pos, &mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for View<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(d) => self.end as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if target < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"));
        }
        self.pos = target as u64;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_file_read_the_same() {
        let mut data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        data[CHUNK - 2..CHUNK + 3].copy_from_slice(b"%%EOF");
        data[7..12].copy_from_slice(b"%%EOF");
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
        let file = Input::file(&f).unwrap();
        let mem = Input::Memory(&data);
        for input in [mem, file] {
            assert_eq!(input.find_all(b"%%EOF").unwrap(), vec![7, CHUNK as u64 - 2], "a match across a chunk boundary is found");
            assert_eq!(input.range(5, 14).unwrap(), &data[5..14]);
            let mut got = Vec::new();
            input.stream(&[(0, 10), (CHUNK as u64, 2 * CHUNK as u64 + 5)], &mut |c| got.extend_from_slice(c)).unwrap();
            assert_eq!(got, [&data[..10], &data[CHUNK..2 * CHUNK + 5]].concat());
            let mut v = input.view(100);
            let mut all = Vec::new();
            v.read_to_end(&mut all).unwrap();
            assert_eq!(all, &data[..100]);
            v.seek(SeekFrom::End(-10)).unwrap();
            let mut tail = [0u8; 20];
            assert_eq!(v.read(&mut tail).unwrap(), 10);
        }
    }
}
