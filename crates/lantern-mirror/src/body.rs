//! File content streamed from disk in 64 KiB chunks, with the body faults applied on the way.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use tokio::fs::File;
use tokio::io::AsyncReadExt;

use crate::log::Record;

/// Model files are hundreds of MB; they are never held in memory whole.
pub(crate) const CHUNK: u64 = 64 * 1024;

/// Time given to the connection to flush what was sent before a `drop_after` abort, so the
/// client sees exactly the bytes the log reports and then a broken connection.
const DROP_GRACE: Duration = Duration::from_millis(50);

/// Faults that change a body on its way out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BodyFaults {
    /// Abort the connection after this many body bytes.
    pub(crate) drop_after: Option<u64>,
    /// XOR the byte at this absolute file offset with 0x01.
    pub(crate) flip: Option<u64>,
    /// Sleep before each chunk.
    pub(crate) delay: Option<Duration>,
}

struct Reader {
    file: File,
    /// Absolute file offset of the next byte.
    offset: u64,
    remaining: u64,
    sent: u64,
    faults: BodyFaults,
    record: Option<Arc<Record>>,
    done: bool,
}

impl Reader {
    async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        if self.done || self.remaining == 0 {
            return None;
        }
        if let Some(limit) = self.faults.drop_after
            && self.sent >= limit
        {
            tokio::time::sleep(DROP_GRACE).await;
            self.done = true;
            return Some(Err(io::Error::other("fault injection: connection dropped")));
        }
        if let Some(delay) = self.faults.delay {
            tokio::time::sleep(delay).await;
        }
        let mut n = CHUNK.min(self.remaining);
        if let Some(limit) = self.faults.drop_after {
            n = n.min(limit - self.sent);
        }
        let mut buf = vec![0u8; usize::try_from(n).unwrap_or(0)];
        if let Err(e) = self.file.read_exact(&mut buf).await {
            self.done = true;
            return Some(Err(e));
        }
        if let Some(at) = self.faults.flip
            && let Some(i) = at.checked_sub(self.offset)
            && let Some(byte) = usize::try_from(i).ok().and_then(|i| buf.get_mut(i))
        {
            *byte ^= 0x01;
        }
        self.offset += n;
        self.remaining -= n;
        self.sent += n;
        if let Some(record) = &self.record {
            record.add_bytes(n);
        }
        Some(Ok(Bytes::from(buf)))
    }
}

/// A body of `len` bytes of `file`, which is positioned at absolute offset `start`.
pub(crate) fn file_body(
    file: File,
    start: u64,
    len: u64,
    faults: BodyFaults,
    record: Option<Arc<Record>>,
) -> Body {
    let reader = Reader {
        file,
        offset: start,
        remaining: len,
        sent: 0,
        faults,
        record,
        done: false,
    };
    Body::from_stream(futures_util::stream::unfold(reader, |mut r| async move {
        r.next_chunk().await.map(|item| (item, r))
    }))
}
