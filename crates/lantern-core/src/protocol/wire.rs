//! A message on the wire: its JSON text and, beside it, the bytes of its [`Binary`] fields.
//!
//! Audio samples and image pixels go from the page to the worker. As JSON numbers a second of
//! 16 kHz audio is ~150 kB of text to build, send and parse; as an attachment it is one
//! `ArrayBuffer` that `postMessage` *transfers* (moves to the worker without copying; the
//! page's buffer is left detached). The JSON keeps a `{"attachment": i}` in the field's place.
//!
//! On the page a large buffer usually lives in JavaScript already (`decodeAudioData`, a
//! canvas), so the page builds the message with [`Binary::Attached`] and hands the buffer to
//! `postMessage` itself; its bytes never enter the page's wasm memory. In the worker,
//! [`decode`] turns each attachment into [`Binary::Bytes`]. Natively (the worker on a thread)
//! messages are passed as values and never encoded.
//!
//! ```
//! use lantern_core::protocol::{Binary, Request, wire};
//!
//! let request = Request::Ping { id: 3, payload: Binary::Bytes(vec![1, 2, 3]) };
//! let wire = wire::encode(&request)?;
//! assert_eq!(wire.json, r#"{"type":"ping","id":3,"payload":{"attachment":0}}"#);
//! assert_eq!(wire.attachments, vec![vec![1, 2, 3]]);
//! let back: Request = wire::decode(&wire.json, wire.attachments)?;
//! assert_eq!(back, request);
//! # Ok::<(), lantern_core::protocol::wire::WireError>(())
//! ```

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};

/// Bytes that travel beside a message's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binary {
    /// The bytes themselves.
    Bytes(Vec<u8>),
    /// Attachment `i` of the message, supplied by the sender beside the JSON (a page passing a
    /// JavaScript `ArrayBuffer` it holds).
    Attached(u32),
}

impl Binary {
    /// The bytes, if they are here (not an attachment still to be supplied).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Binary::Bytes(b) => Some(b),
            Binary::Attached(_) => None,
        }
    }

    /// The bytes, taken; an attachment that was never supplied is an error.
    pub fn into_bytes(self) -> Result<Vec<u8>, WireError> {
        match self {
            Binary::Bytes(b) => Ok(b),
            Binary::Attached(i) => Err(WireError::MissingAttachment(i)),
        }
    }
}

/// A message ready for `postMessage`: JSON text and the buffers to transfer with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    pub json: String,
    pub attachments: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("the message is not valid: {0}")]
    Json(String),
    #[error("the message refers to attachment {0}, which did not come with it")]
    MissingAttachment(u32),
    #[error("binary data can only be sent through protocol::wire::encode")]
    OutsideEnvelope,
}

thread_local! {
    /// Attachments collected while [`encode`] serializes a message.
    static OUTGOING: RefCell<Option<Vec<Vec<u8>>>> = const { RefCell::new(None) };
    /// Attachments [`decode`] hands out while it deserializes a message (each taken once).
    static INCOMING: RefCell<Option<Vec<Option<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Serializes `message`, moving the bytes of its [`Binary::Bytes`] fields into attachments
/// (copied: the message is borrowed).
pub fn encode<T: Serialize>(message: &T) -> Result<Wire, WireError> {
    let previous = OUTGOING.with(|o| o.borrow_mut().replace(Vec::new()));
    let json = serde_json::to_string(message);
    let attachments = OUTGOING.with(|o| std::mem::replace(&mut *o.borrow_mut(), previous));
    let json = json.map_err(|e| WireError::Json(e.to_string()))?;
    Ok(Wire {
        json,
        attachments: attachments.unwrap_or_default(),
    })
}

/// Parses a message, giving each `{"attachment": i}` the bytes of `attachments[i]`. A
/// reference to an attachment that is missing, or taken twice, is an error.
pub fn decode<T: DeserializeOwned>(json: &str, attachments: Vec<Vec<u8>>) -> Result<T, WireError> {
    let incoming = attachments.into_iter().map(Some).collect();
    let previous = INCOMING.with(|i| i.borrow_mut().replace(incoming));
    let result = serde_json::from_str::<T>(json);
    INCOMING.with(|i| *i.borrow_mut() = previous);
    result.map_err(|e| {
        // The typed error travels through serde as text; recover it for the caller.
        let text = e.to_string();
        match text
            .strip_prefix(MISSING)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
        {
            Some(i) => WireError::MissingAttachment(i),
            None => WireError::Json(text),
        }
    })
}

const MISSING: &str = "missing attachment ";

/// `{"attachment": i}`
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentRef {
    attachment: u32,
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let index = match self {
            Binary::Attached(i) => *i,
            Binary::Bytes(bytes) => OUTGOING.with(|o| match o.borrow_mut().as_mut() {
                Some(list) => {
                    list.push(bytes.clone());
                    u32::try_from(list.len() - 1)
                        .map_err(|_| ser::Error::custom("more than 2^32 attachments"))
                }
                None => Err(ser::Error::custom(WireError::OutsideEnvelope)),
            })?,
        };
        AttachmentRef { attachment: index }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let AttachmentRef { attachment } = AttachmentRef::deserialize(deserializer)?;
        INCOMING.with(|i| match i.borrow_mut().as_mut() {
            // Outside `decode` (the page reading its own message back): still a reference.
            None => Ok(Binary::Attached(attachment)),
            Some(list) => list
                .get_mut(attachment as usize)
                .and_then(Option::take)
                .map(Binary::Bytes)
                .ok_or_else(|| de::Error::custom(format!("{MISSING}{attachment}"))),
        })
    }
}

/// FNV-1a (32 bits) of `bytes`: the checksum `Ping`/`Pong` compare, cheap to compute the same
/// way in JavaScript.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Request;

    #[test]
    fn attachments_travel_beside_the_json() {
        let request = Request::Ping {
            id: 1,
            payload: Binary::Bytes((0..=255).collect()),
        };
        let wire = encode(&request).unwrap();
        assert!(!wire.json.contains("255"), "{}", wire.json);
        assert_eq!(wire.attachments.len(), 1);
        assert_eq!(
            decode::<Request>(&wire.json, wire.attachments).unwrap(),
            request
        );
    }

    #[test]
    fn a_page_can_attach_buffers_it_holds() {
        let request = Request::Ping {
            id: 2,
            payload: Binary::Attached(0),
        };
        let wire = encode(&request).unwrap();
        assert!(wire.attachments.is_empty());
        let back: Request = decode(&wire.json, vec![vec![7; 10]]).unwrap();
        assert_eq!(
            back,
            Request::Ping {
                id: 2,
                payload: Binary::Bytes(vec![7; 10])
            }
        );
    }

    #[test]
    fn missing_or_reused_attachments_are_errors() {
        let json = r#"{"type":"ping","id":1,"payload":{"attachment":1}}"#;
        assert_eq!(
            decode::<Request>(json, vec![vec![1]]).unwrap_err(),
            WireError::MissingAttachment(1)
        );
        assert!(matches!(
            decode::<Request>(r#"{"type":"ping","id":1,"payload":[1,2]}"#, vec![]),
            Err(WireError::Json(_))
        ));
        // Plain serde_json cannot carry bytes: they would silently become JSON numbers.
        let request = Request::Ping {
            id: 1,
            payload: Binary::Bytes(vec![1]),
        };
        assert!(serde_json::to_string(&request).is_err());
    }

    #[test]
    fn fnv1a_matches_its_reference_values() {
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    }
}
