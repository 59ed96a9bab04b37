//! Splitting a byte stream into lines, bounded: what the core reads from a server process's stdout and stderr.

/// How many first and last bytes of a line over the limit are kept, to tell what it was.
const KEPT: usize = 256;

/// What [`Lines::feed`] finds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Framed {
    /// A whole line, without its `\n` (or `\r\n`).
    Line(String),
    /// A line went over the limit: its first bytes, told at once; the rest of it is dropped.
    Cut(Vec<u8>),
    /// The end of that line: its last bytes.
    CutEnd(Vec<u8>),
}

/// Splits a byte stream into lines, refusing lines longer than a limit.
#[derive(Debug)]
pub(crate) struct Lines {
    buffer: Vec<u8>,
    limit: usize,
    /// The current line went over the limit; its bytes are dropped until its end, but for the last few.
    skipping: bool,
}

impl Lines {
    pub(crate) fn new(limit: usize) -> Lines {
        Lines { buffer: Vec::new(), limit, skipping: false }
    }

    /// Feeds a chunk; what it completes goes to `out`.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Framed>) {
        while !chunk.is_empty() {
            let end = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..end.unwrap_or(chunk.len())];
            if self.skipping {
                // Only the last bytes are kept.
                self.buffer.extend_from_slice(&part[part.len().saturating_sub(KEPT)..]);
                let excess = self.buffer.len().saturating_sub(KEPT);
                self.buffer.drain(..excess);
            } else if self.buffer.len() + part.len() > self.limit {
                self.skipping = true;
                let mut head = self.buffer[..KEPT.min(self.buffer.len())].to_vec();
                head.extend_from_slice(&part[..(KEPT - head.len()).min(part.len())]);
                let from_part = part.len().min(KEPT);
                let mut tail = self.buffer[self.buffer.len().saturating_sub(KEPT - from_part)..].to_vec();
                tail.extend_from_slice(&part[part.len() - from_part..]);
                self.buffer = tail;
                out.push(Framed::Cut(head));
            } else {
                self.buffer.extend_from_slice(part);
            }
            match end {
                Some(end) => {
                    let line = std::mem::take(&mut self.buffer);
                    if self.skipping {
                        out.push(Framed::CutEnd(line));
                    } else {
                        let line = String::from_utf8_lossy(&line);
                        out.push(Framed::Line(line.trim_end_matches('\r').to_owned()));
                    }
                    self.skipping = false;
                    chunk = &chunk[end + 1..];
                }
                None => chunk = &[],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn lines_survive_any_chunking_and_long_lines_are_cut_keeping_their_ends() {
        let long = format!("{{\"id\":7,\"result\":\"{}\"}}", "x".repeat(1000));
        let input = format!("{{\"a\":1}}\r\n\n{{\"b\":\"é\"}}\n{long}\n{{\"c\":3}}\npartial");
        for size in 1..input.len() {
            let mut lines = Lines::new(600);
            let mut out = Vec::new();
            for chunk in input.as_bytes().chunks(size) {
                lines.feed(chunk, &mut out);
            }
            let line = |s: &str| Framed::Line(s.to_owned());
            let cut = Framed::Cut(long.as_bytes()[..KEPT].to_vec());
            let end = Framed::CutEnd(long.as_bytes()[long.len() - KEPT..].to_vec());
            assert_eq!(
                out,
                [line("{\"a\":1}"), line(""), line("{\"b\":\"é\"}"), cut, end, line("{\"c\":3}")],
                "{size}"
            );
        }
    }
}
