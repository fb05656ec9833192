//! The request log kept per fault id, and the per-id counter behind `times=N`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// Which fault was injected into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    Drop,
    Flip,
    Status,
    Delay,
}

impl FaultKind {
    fn code(self) -> u8 {
        match self {
            FaultKind::Drop => 1,
            FaultKind::Flip => 2,
            FaultKind::Status => 3,
            FaultKind::Delay => 4,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(FaultKind::Drop),
            2 => Some(FaultKind::Flip),
            3 => Some(FaultKind::Status),
            4 => Some(FaultKind::Delay),
            _ => None,
        }
    }
}

/// One logged request, as `GET /_log/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub method: String,
    /// The request path without the fault prefix and without the query.
    pub path: String,
    /// The `Range` header, verbatim.
    pub range: Option<String>,
    pub status: u16,
    /// Body bytes handed to the connection, counted while the body streams.
    pub bytes_sent: u64,
    pub fault: Option<FaultKind>,
}

/// A request in flight: its status, fault and byte count are filled in as it is answered, so
/// the log keeps arrival order even when answers finish out of order.
#[derive(Debug)]
pub(crate) struct Record {
    method: String,
    path: String,
    range: Option<String>,
    status: AtomicU16,
    bytes_sent: AtomicU64,
    fault: AtomicU8,
}

impl Record {
    pub(crate) fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }

    pub(crate) fn set_fault(&self, fault: FaultKind) {
        self.fault.store(fault.code(), Ordering::Relaxed);
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
    }

    fn entry(&self) -> LogEntry {
        LogEntry {
            method: self.method.clone(),
            path: self.path.clone(),
            range: self.range.clone(),
            status: self.status.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            fault: FaultKind::from_code(self.fault.load(Ordering::Relaxed)),
        }
    }
}

#[derive(Debug, Default)]
struct IdLog {
    matched: AtomicU64,
    records: Mutex<Vec<Arc<Record>>>,
}

/// All request logs of one mirror, by fault id.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    ids: Mutex<HashMap<String, Arc<IdLog>>>,
}

impl Journal {
    fn id_log(&self, id: &str) -> Arc<IdLog> {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(ids.entry(id.to_owned()).or_default())
    }

    /// Appends a request to the log of `id`.
    pub(crate) fn record(
        &self,
        id: &str,
        method: &str,
        path: &str,
        range: Option<&str>,
    ) -> Arc<Record> {
        let record = Arc::new(Record {
            method: method.to_owned(),
            path: path.to_owned(),
            range: range.map(str::to_owned),
            status: AtomicU16::new(0),
            bytes_sent: AtomicU64::new(0),
            fault: AtomicU8::new(0),
        });
        let log = self.id_log(id);
        log.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&record));
        record
    }

    /// Counts a request that a fault of `id` could apply to, and says whether it does: the first
    /// `times` such requests get the fault.
    pub(crate) fn take_ticket(&self, id: &str, times: Option<u64>) -> bool {
        let n = self.id_log(id).matched.fetch_add(1, Ordering::Relaxed);
        times.is_none_or(|t| n < t)
    }

    pub(crate) fn entries(&self, id: &str) -> Vec<LogEntry> {
        let log = {
            let ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
            match ids.get(id) {
                Some(log) => Arc::clone(log),
                None => return Vec::new(),
            }
        };
        let records = log.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.iter().map(|r| r.entry()).collect()
    }
}
