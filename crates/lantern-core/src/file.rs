//! Files inside a repository: safe relative paths, content hashes, and pinned file lists.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{CoreError, RepoId, RepoType};

/// A relative path inside a repository (`1_Pooling/config.json`).
///
/// Validated so that joining it under a cache or mirror folder can never leave that folder: no
/// absolute paths, no `.`/`..` or empty components, no backslashes, no NUL or control characters.
/// A hostile tree listing or manifest therefore cannot make us write outside the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoPath(String);

/// The Hub refuses paths longer than this; so do we.
const MAX_PATH_LEN: usize = 1024;

impl RepoPath {
    pub fn new(path: &str) -> Result<Self, CoreError> {
        let bad = |reason: &'static str| CoreError::InvalidPath {
            path: path.to_owned(),
            reason,
        };
        if path.is_empty() {
            return Err(bad("empty"));
        }
        if path.len() > MAX_PATH_LEN {
            return Err(bad("longer than 1024 bytes"));
        }
        if path.starts_with('/') {
            return Err(bad("absolute"));
        }
        if path.bytes().any(|b| b == b'\\' || b.is_ascii_control()) {
            return Err(bad("contains a backslash or a control character"));
        }
        if path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(bad("has an empty, '.' or '..' component"));
        }
        // A Windows drive prefix would be absolute there.
        if path.as_bytes().get(1) == Some(&b':') {
            return Err(bad("looks like a drive path"));
        }
        Ok(RepoPath(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Path components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RepoPath {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RepoPath::new(s)
    }
}

impl TryFrom<String> for RepoPath {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RepoPath::new(&s)
    }
}

impl From<RepoPath> for String {
    fn from(p: RepoPath) -> String {
        p.0
    }
}

/// What a file's bytes must hash to.
///
/// The Hub names every file by a content hash known before downloading it: LFS files by the
/// sha256 of their content, regular (git) files by their git blob id, which is
/// `sha1("blob {len}\0" ++ content)`. Both are checked while streaming, so every byte we keep is
/// verified. The hex form is also the blob's name in huggingface_hub's cache (its "etag").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentHash {
    Sha256([u8; 32]),
    GitSha1([u8; 20]),
}

impl ContentHash {
    /// Parses 64 hex digits as sha256 and 40 as a git blob id (the two lengths cannot collide).
    pub fn from_hex(s: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::InvalidHash(s.to_owned());
        match s.len() {
            64 => {
                let mut b = [0u8; 32];
                hex::decode_to_slice(s, &mut b).map_err(|_| bad())?;
                Ok(ContentHash::Sha256(b))
            }
            40 => {
                let mut b = [0u8; 20];
                hex::decode_to_slice(s, &mut b).map_err(|_| bad())?;
                Ok(ContentHash::GitSha1(b))
            }
            _ => Err(bad()),
        }
    }

    pub fn to_hex(&self) -> String {
        match self {
            ContentHash::Sha256(b) => hex::encode(b),
            ContentHash::GitSha1(b) => hex::encode(b),
        }
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            ContentHash::Sha256(_) => "sha256",
            ContentHash::GitSha1(_) => "git-sha1",
        }
    }

    pub fn sha256(&self) -> Option<[u8; 32]> {
        match self {
            ContentHash::Sha256(b) => Some(*b),
            ContentHash::GitSha1(_) => None,
        }
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm(), self.to_hex())
    }
}

impl FromStr for ContentHash {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContentHash::from_hex(s)
    }
}

impl Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ContentHash::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// One file of a repository at a commit, with what its download must produce.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoFile {
    pub path: RepoPath,
    pub size: u64,
    /// sha256 for LFS files, git blob id for the others.
    pub hash: ContentHash,
}

/// A model pinned to a commit, with every file it needs: what `demo.json` carries, and what a
/// download plan is made of. Nothing about it can change once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub repo: RepoId,
    #[serde(default)]
    pub repo_type: RepoType,
    /// The revision the author asked for (`main`, a tag), for display.
    pub revision: String,
    /// The commit that revision pointed to when the model was pinned.
    pub commit: String,
    pub files: Vec<RepoFile>,
}

impl ModelRef {
    /// Total download size in bytes.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    pub fn file(&self, path: &str) -> Option<&RepoFile> {
        self.files.iter().find(|f| f.path.as_str() == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_paths_cannot_escape() {
        for ok in ["config.json", "1_Pooling/config.json", "a/b/c.gguf", "x..y"] {
            assert!(RepoPath::new(ok).is_ok(), "{ok:?} refused");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a/",
            "a\\..\\b",
            "C:x",
            "a\0b",
            "a\nb",
        ] {
            assert!(RepoPath::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RepoPath::new(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn content_hashes_round_trip() {
        let s = "a".repeat(64);
        let h = ContentHash::from_hex(&s).unwrap();
        assert_eq!(h.algorithm(), "sha256");
        assert_eq!(h.to_hex(), s);
        let g = ContentHash::from_hex(&"0".repeat(40)).unwrap();
        assert_eq!(g.algorithm(), "git-sha1");
        assert!(ContentHash::from_hex("abc").is_err());
        assert!(ContentHash::from_hex(&"z".repeat(64)).is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
    }
}
