//! Splitting a byte stream into lines, bounded: what the core reads from a server process's stdout and stderr.

/// Splits a byte stream into lines, refusing lines longer than a limit.
#[derive(Debug)]
pub(crate) struct Lines {
    buffer: Vec<u8>,
    limit: usize,
    /// The current line went over the limit; drop bytes until its end.
    skipping: bool,
}

impl Lines {
    pub(crate) fn new(limit: usize) -> Lines {
        Lines { buffer: Vec::new(), limit, skipping: false }
    }

    /// Feeds a chunk; complete lines go to `out`. Returns how many over-long lines were dropped.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<String>) -> usize {
        let mut dropped = 0;
        while !chunk.is_empty() {
            let end = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..end.unwrap_or(chunk.len())];
            if !self.skipping {
                if self.buffer.len() + part.len() > self.limit {
                    self.skipping = true;
                    self.buffer.clear();
                    dropped += 1;
                } else {
                    self.buffer.extend_from_slice(part);
                }
            }
            match end {
                Some(end) => {
                    if !self.skipping {
                        let line = String::from_utf8_lossy(&self.buffer);
                        out.push(line.trim_end_matches('\r').to_owned());
                    }
                    self.buffer.clear();
                    self.skipping = false;
                    chunk = &chunk[end + 1..];
                }
                None => chunk = &[],
            }
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn lines_survive_any_chunking_and_long_lines_are_dropped() {
        let input = b"{\"a\":1}\r\n\n{\"b\":\"\xc3\xa9\"}\nxxxxxxxxxxxxxxxxxxxx\n{\"c\":3}\npartial";
        for size in 1..input.len() {
            let mut lines = Lines::new(12);
            let mut out = Vec::new();
            let mut dropped = 0;
            for chunk in input.chunks(size) {
                dropped += lines.feed(chunk, &mut out);
            }
            assert_eq!(out, ["{\"a\":1}", "", "{\"b\":\"é\"}", "{\"c\":3}"], "chunk size {size}");
            assert_eq!(dropped, 1);
        }
    }
}
