//! An append-only list in fixed-size chunks, for the memory store's event log and
//! journal.

/// Entries per chunk: big enough that chunk bookkeeping is noise, small enough that
/// filling one never copies much.
const CHUNK: usize = 4096;

/// Append-only storage that never moves what it holds: a plain `Vec` doubles and
/// copies everything when full, which with a million events is a pause of hundreds of
/// milliseconds inside the store's write lock.
#[derive(Debug)]
pub(super) struct Log<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T> Log<T> {
    pub(super) fn last(&self) -> Option<&T> {
        self.chunks.last().and_then(|c| c.last())
    }

    pub(super) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
    }

    /// Entries from position `start` on, in order.
    pub(super) fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> {
        let first_chunk = start / CHUNK;
        let skip = start % CHUNK;
        self.chunks.iter().skip(first_chunk).flatten().skip(skip)
    }
}

impl<T> Extend<T> for Log<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, items: I) {
        for item in items {
            self.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_any_position_across_chunks() {
        let mut log = Log::default();
        log.extend(0..(CHUNK * 2 + 10));
        assert_eq!(log.iter_from(0).count(), CHUNK * 2 + 10);
        assert_eq!(log.last(), Some(&(CHUNK * 2 + 9)));
        for start in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            CHUNK * 2 + 9,
            CHUNK * 2 + 10,
            CHUNK * 5,
        ] {
            let got: Vec<usize> = log.iter_from(start).take(3).copied().collect();
            let want: Vec<usize> = (start..(CHUNK * 2 + 10)).take(3).collect();
            assert_eq!(got, want, "from {start}");
        }
    }
}
