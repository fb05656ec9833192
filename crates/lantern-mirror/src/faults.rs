//! Fault injection: the `/_faults/{spec}` URL prefix and what its spec means.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::MirrorError;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultScope {
    /// GETs answered with file content: regular-file `resolve` and `_lfs` bodies.
    #[default]
    Content,
    /// Requests to `/api/...`.
    Api,
    /// Every request but CORS preflights and `/_log`.
    All,
}

impl FaultScope {
    fn as_str(self) -> &'static str {
        match self {
            FaultScope::Content => "content",
            FaultScope::Api => "api",
            FaultScope::All => "all",
        }
    }
}

/// Faults to inject, as written in a `/_faults/{spec}/...` URL prefix.
///
/// Every route of the mirror also exists under that prefix, so a client given the endpoint
/// `http://HOST/_faults/id=t1,drop_after=1000000,times=1` sees the faults on its downloads; LFS
/// redirects keep the prefix. The spec is a comma-separated list of `key=value`:
///
/// | key | meaning |
/// |---|---|
/// | `id=STR` | required; names the request log (`GET /_log/STR`, [`Mirror::log`](crate::Mirror::log)) and the `times` counter |
/// | `drop_after=N` | send N body bytes of content, then break the connection |
/// | `flip=OFFSET` | XOR the content byte at absolute file offset OFFSET with 0x01 (ranges respected) |
/// | `status=CODE` | answer CODE (200..=599) with a JSON error body instead |
/// | `retry_after=SECONDS` | `Retry-After` sent with `status=429` (default 1) |
/// | `delay_ms=N` | sleep N ms before each 64 KiB chunk of content |
/// | `times=N` | only the first N requests that the faults apply to get them (default: all) |
/// | `on=content\|api\|all` | which requests: content GETs (default), `/api/...`, or every request |
///
/// Body faults (`drop_after`, `flip`, `delay_ms`) only change content bodies (resolve of a git
/// file, `_lfs`), and only such requests count towards `times` for them, so the 302 in front of
/// LFS content does not use up a one-time fault. A spec with only `id` just logs.
///
/// `Display` writes the spec back in URL form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    /// Names the request log and the `times` counter; letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// Send this many body bytes, then abort the connection.
    pub drop_after: Option<u64>,
    /// XOR the byte at this absolute file offset with 0x01.
    pub flip: Option<u64>,
    /// Answer this status (200..=599) instead of the real answer.
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with `status=429`.
    pub retry_after: u64,
    /// Sleep this long before each 64 KiB chunk of content.
    pub delay_ms: Option<u64>,
    /// Apply the faults to the first `times` matching requests only; `None`: to all of them.
    pub times: Option<u64>,
    pub on: FaultScope,
}

impl FaultSpec {
    /// A spec with an id and no faults: requests are only logged.
    pub fn new(id: impl Into<String>) -> Self {
        FaultSpec {
            id: id.into(),
            drop_after: None,
            flip: None,
            status: None,
            retry_after: 1,
            delay_ms: None,
            times: None,
            on: FaultScope::Content,
        }
    }

    /// True when the spec injects something, rather than only logging.
    pub fn has_faults(&self) -> bool {
        self.status.is_some() || self.has_body_faults()
    }

    pub(crate) fn has_body_faults(&self) -> bool {
        self.drop_after.is_some() || self.flip.is_some() || self.delay_ms.is_some()
    }

    pub(crate) fn delay(&self) -> Option<Duration> {
        self.delay_ms.map(Duration::from_millis)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl FromStr for FaultSpec {
    type Err = MirrorError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| MirrorError::InvalidFaultSpec {
            spec: spec.to_owned(),
            reason,
        };
        let mut out = FaultSpec::new(String::new());
        let mut seen: Vec<&str> = Vec::new();
        for item in spec.split(',').filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| bad(format!("{item:?} is not key=value")))?;
            if seen.contains(&key) {
                return Err(bad(format!("{key} given twice")));
            }
            seen.push(key);
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| bad(format!("{key}={value:?} is not a non-negative integer")))
            };
            match key {
                "id" => out.id = value.to_owned(),
                "drop_after" => out.drop_after = Some(number()?),
                "flip" => out.flip = Some(number()?),
                "status" => {
                    let code = number()?;
                    if !(200..=599).contains(&code) {
                        return Err(bad(format!("status={code} is not in 200..=599")));
                    }
                    out.status = u16::try_from(code).ok();
                }
                "retry_after" => out.retry_after = number()?,
                "delay_ms" => out.delay_ms = Some(number()?),
                "times" => out.times = Some(number()?),
                "on" => {
                    out.on = match value {
                        "content" => FaultScope::Content,
                        "api" => FaultScope::Api,
                        "all" => FaultScope::All,
                        _ => {
                            return Err(bad(format!("on={value:?}: expected content, api or all")));
                        }
                    }
                }
                _ => return Err(bad(format!("unknown key {key:?}"))),
            }
        }
        if !valid_id(&out.id) {
            return Err(bad(
                "id=... is required: 1 to 128 letters, digits, '-', '_' or '.'".to_owned(),
            ));
        }
        Ok(out)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "id={}", self.id)?;
        let numbers = [
            ("drop_after", self.drop_after),
            ("flip", self.flip),
            ("status", self.status.map(u64::from)),
            ("delay_ms", self.delay_ms),
            ("times", self.times),
        ];
        for (key, value) in numbers {
            if let Some(v) = value {
                write!(f, ",{key}={v}")?;
            }
        }
        if self.retry_after != 1 {
            write!(f, ",retry_after={}", self.retry_after)?;
        }
        if self.on != FaultScope::Content {
            write!(f, ",on={}", self.on.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_specs() {
        let s: FaultSpec = "id=t1,drop_after=1000,times=1".parse().unwrap();
        assert_eq!(s.id, "t1");
        assert_eq!(s.drop_after, Some(1000));
        assert_eq!(s.times, Some(1));
        assert_eq!(s.on, FaultScope::Content);
        assert!(s.has_faults());
        assert_eq!(s.to_string(), "id=t1,drop_after=1000,times=1");

        let s: FaultSpec = "status=429,retry_after=7,id=x,on=api".parse().unwrap();
        assert_eq!(s.status, Some(429));
        assert_eq!(s.retry_after, 7);
        assert_eq!(s.on, FaultScope::Api);
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);

        assert!(!"id=only-log".parse::<FaultSpec>().unwrap().has_faults());
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "",
            "drop_after=1",
            "id=",
            "id=a/b",
            "id=a,id=b",
            "id=a,status=99",
            "id=a,status=600",
            "id=a,flip=-1",
            "id=a,on=everything",
            "id=a,nonsense=1",
            "id=a,drop_after",
        ] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad:?} accepted");
        }
    }
}
