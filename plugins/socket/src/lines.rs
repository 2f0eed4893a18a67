//! Lines from a byte stream, cut at `\n` (a trailing `\r` is dropped), each at most
//! `max_bytes` long; a longer one is reported with its length and a prefix, not kept.

use std::io::{self, Read};

/// What one line turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// Not valid UTF-8: the raw bytes.
    Invalid(Vec<u8>),
    /// Longer than the limit: its first `max_bytes` bytes and its full length.
    TooLong {
        prefix: Vec<u8>,
        len: usize,
    },
}

/// Splits what a reader yields into lines; partial lines survive read timeouts.
pub struct LineReader {
    max_bytes: usize,
    buf: Vec<u8>,
    /// Bytes of the current line seen so far, counting those not kept.
    len: usize,
    chunk: Box<[u8]>,
}

impl LineReader {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            buf: Vec::new(),
            len: 0,
            chunk: vec![0; 64 * 1024].into_boxed_slice(),
        }
    }

    /// Reads once from `r` and hands every completed line to `emit`. `Ok(false)` at end
    /// of stream (a last line without `\n` is emitted then); read timeouts are errors
    /// the caller may retry.
    pub fn read(&mut self, r: &mut impl Read, mut emit: impl FnMut(Line)) -> io::Result<bool> {
        // Taken out while its lines are cut, so `self` can be borrowed mutably meanwhile.
        let mut chunk = std::mem::take(&mut self.chunk);
        let read = r.read(&mut chunk);
        let result = match read {
            Ok(0) => {
                if self.len > 0 {
                    emit(self.finish_line());
                }
                Ok(false)
            }
            Ok(n) => {
                let mut rest = &chunk[..n];
                while let Some(i) = rest.iter().position(|&b| b == b'\n') {
                    self.take(&rest[..i]);
                    rest = &rest[i + 1..];
                    emit(self.finish_line());
                }
                self.take(rest);
                Ok(true)
            }
            Err(e) => Err(e),
        };
        self.chunk = chunk;
        result
    }

    fn take(&mut self, bytes: &[u8]) {
        let room = (self.max_bytes + 1).saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.len += bytes.len();
    }

    fn finish_line(&mut self) -> Line {
        let mut bytes = std::mem::take(&mut self.buf);
        let mut len = std::mem::take(&mut self.len);
        if bytes.last() == Some(&b'\r') && bytes.len() == len {
            bytes.pop();
            len -= 1;
        }
        if len > self.max_bytes {
            bytes.truncate(self.max_bytes.min(1024));
            return Line::TooLong { prefix: bytes, len };
        }
        match String::from_utf8(bytes) {
            Ok(text) => Line::Text(text),
            Err(e) => Line::Invalid(e.into_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize, chunk: usize) -> Vec<Line> {
        let mut reader = LineReader::new(max);
        let mut out = Vec::new();
        for part in input.chunks(chunk) {
            reader.read(&mut &part[..], |l| out.push(l)).unwrap();
        }
        reader.read(&mut &b""[..], |l| out.push(l)).unwrap();
        out
    }

    #[test]
    fn cuts_lines_across_reads() {
        for chunk in [1, 3, 100] {
            assert_eq!(
                lines(b"ab\r\ncd\n\nlast", 10, chunk),
                vec![
                    Line::Text("ab".into()),
                    Line::Text("cd".into()),
                    Line::Text("".into()),
                    Line::Text("last".into()),
                ]
            );
        }
    }

    #[test]
    fn long_and_invalid_lines_are_reported() {
        assert_eq!(
            lines(b"12345\n123456\n\xff\xfe\nok\n", 5, 2),
            vec![
                Line::Text("12345".into()),
                Line::TooLong {
                    prefix: b"12345".to_vec(),
                    len: 6
                },
                Line::Invalid(vec![0xff, 0xfe]),
                Line::Text("ok".into()),
            ]
        );
    }
}
