//! Hub repository identities: `ORG/NAME`, its kind (model, dataset, space) and a revision.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The three kinds of Hub repository. Each has its own URL prefix and cache folder prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    #[default]
    Model,
    Dataset,
    Space,
}

impl RepoType {
    /// Segment used in `/api/{segment}/ORG/NAME/...` URLs.
    pub fn api_segment(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// Prefix of resolve URLs: models have none, the others `datasets/` and `spaces/`.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    /// Singular name, as huggingface_hub uses in cache folder names (`models--ORG--NAME`).
    pub fn singular(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }
}

impl FromStr for RepoType {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "model" | "models" => Ok(RepoType::Model),
            "dataset" | "datasets" => Ok(RepoType::Dataset),
            "space" | "spaces" => Ok(RepoType::Space),
            other => Err(CoreError::InvalidRepoType(other.to_owned())),
        }
    }
}

/// Longest repo name the Hub accepts (owner and name each).
const MAX_NAME_LEN: usize = 96;

/// A repository id: `ORG/NAME`, or a bare `NAME` for the Hub's legacy top-level repos (`gpt2`).
///
/// Validated on construction with the Hub's own rules (letters, digits, `-`, `_`, `.`; no `--` or
/// `..`; not starting or ending with `-` or `.`), so a value of this type is always safe to put in a
/// URL path and in a cache folder name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoId {
    owner: Option<String>,
    name: String,
}

impl RepoId {
    pub fn new(owner: Option<&str>, name: &str) -> Result<Self, CoreError> {
        let full = match owner {
            Some(o) => format!("{o}/{name}"),
            None => name.to_owned(),
        };
        if let Some(o) = owner {
            validate_part(o, &full)?;
        }
        validate_part(name, &full)?;
        Ok(RepoId {
            owner: owner.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Folder name used by huggingface_hub's cache: `models--ORG--NAME`.
    pub fn cache_folder(&self, repo_type: RepoType) -> String {
        let mut s = format!("{}s", repo_type.singular());
        for part in self.owner.iter().chain(std::iter::once(&self.name)) {
            s.push_str("--");
            s.push_str(part);
        }
        s
    }
}

fn validate_part(part: &str, full: &str) -> Result<(), CoreError> {
    let bad = |reason: &'static str| CoreError::InvalidRepoId {
        id: full.to_owned(),
        reason,
    };
    if part.is_empty() {
        return Err(bad("empty owner or name"));
    }
    if part.len() > MAX_NAME_LEN {
        return Err(bad("longer than 96 characters"));
    }
    if !part
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(bad("only letters, digits, '-', '_' and '.' are allowed"));
    }
    if part.contains("--") || part.contains("..") {
        return Err(bad("'--' and '..' are not allowed"));
    }
    if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
        return Err(bad("may not start or end with '-' or '.'"));
    }
    Ok(())
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Some(o) => write!(f, "{o}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl FromStr for RepoId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((owner, name)) => RepoId::new(Some(owner), name),
            None => RepoId::new(None, s),
        }
    }
}

impl TryFrom<String> for RepoId {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RepoId> for String {
    fn from(id: RepoId) -> String {
        id.to_string()
    }
}

/// A revision: a branch, a tag, or a commit hash. Branch names may contain `/` (`refs/pr/1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Revision(String);

impl Revision {
    pub const MAIN: &'static str = "main";

    pub fn new(rev: &str) -> Result<Self, CoreError> {
        let bad = |reason: &'static str| CoreError::InvalidRevision {
            revision: rev.to_owned(),
            reason,
        };
        if rev.is_empty() {
            return Err(bad("empty"));
        }
        if rev.len() > 255 {
            return Err(bad("longer than 255 bytes"));
        }
        // Git ref rules that matter for us: a revision becomes a file name under `refs/` in the
        // cache, so no `..`, no empty components, no control characters, no backslash.
        if rev
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
            || rev.contains("..")
            || rev.bytes().any(|b| b.is_ascii_control() || b == b'\\')
        {
            return Err(bad("not a valid git ref name"));
        }
        Ok(Revision(rev.to_owned()))
    }

    pub fn main() -> Self {
        Revision(Self::MAIN.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A full 40-hex-digit commit id. Only those are immutable; branches and tags move.
    pub fn is_commit(&self) -> bool {
        is_commit_hash(&self.0)
    }
}

/// True for a full, lowercase 40-hex-digit git commit id.
pub fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Default for Revision {
    fn default() -> Self {
        Revision::main()
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Revision {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Revision::new(s)
    }
}

impl TryFrom<String> for Revision {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Revision::new(&s)
    }
}

impl From<Revision> for String {
    fn from(r: Revision) -> String {
        r.0
    }
}

/// A repository at a revision: what `ORG/NAME@REV` on the command line means.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoRef {
    pub id: RepoId,
    #[serde(default)]
    pub repo_type: RepoType,
    #[serde(default)]
    pub revision: Revision,
}

impl RepoRef {
    pub fn model(id: RepoId) -> Self {
        RepoRef {
            id,
            repo_type: RepoType::Model,
            revision: Revision::main(),
        }
    }

    pub fn with_revision(mut self, revision: Revision) -> Self {
        self.revision = revision;
        self
    }

    pub fn with_type(mut self, repo_type: RepoType) -> Self {
        self.repo_type = repo_type;
        self
    }
}

/// Parses `ORG/NAME`, `ORG/NAME@REV`, and the prefixed forms `datasets/ORG/NAME` and
/// `spaces/ORG/NAME` (as in Hub URLs).
impl FromStr for RepoRef {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (body, revision) = match s.split_once('@') {
            Some((b, r)) => (b, Revision::new(r)?),
            None => (s, Revision::main()),
        };
        let (repo_type, id) = if let Some(rest) = body.strip_prefix("datasets/") {
            (RepoType::Dataset, rest)
        } else if let Some(rest) = body.strip_prefix("spaces/") {
            (RepoType::Space, rest)
        } else if let Some(rest) = body.strip_prefix("models/") {
            (RepoType::Model, rest)
        } else {
            (RepoType::Model, body)
        };
        Ok(RepoRef {
            id: id.parse()?,
            repo_type,
            revision,
        })
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.repo_type.url_prefix(), self.id)?;
        if self.revision.as_str() != Revision::MAIN {
            write!(f, "@{}", self.revision)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repo_ids() {
        let id: RepoId = "HuggingFaceTB/SmolLM2-135M-Instruct".parse().unwrap();
        assert_eq!(id.owner(), Some("HuggingFaceTB"));
        assert_eq!(id.name(), "SmolLM2-135M-Instruct");
        assert_eq!(
            id.cache_folder(RepoType::Model),
            "models--HuggingFaceTB--SmolLM2-135M-Instruct"
        );
        let bare: RepoId = "gpt2".parse().unwrap();
        assert_eq!(bare.cache_folder(RepoType::Dataset), "datasets--gpt2");
    }

    #[test]
    fn rejects_hostile_repo_ids() {
        for bad in [
            "",
            "a/",
            "/b",
            "a/b/c",
            "../etc",
            "a/..",
            "a/b--c",
            "a/.hidden",
            "a/b c",
            "a/b%2f",
            "a\\b",
            "a/-b",
        ] {
            assert!(bad.parse::<RepoId>().is_err(), "{bad:?} accepted");
        }
        assert!(format!("o/{}", "x".repeat(97)).parse::<RepoId>().is_err());
    }

    #[test]
    fn parses_repo_refs() {
        let r: RepoRef = "org/name@v1.0".parse().unwrap();
        assert_eq!(r.revision.as_str(), "v1.0");
        assert_eq!(r.repo_type, RepoType::Model);
        let d: RepoRef = "datasets/org/data@refs/pr/3".parse().unwrap();
        assert_eq!(d.repo_type, RepoType::Dataset);
        assert_eq!(d.revision.as_str(), "refs/pr/3");
        assert_eq!(d.to_string(), "datasets/org/data@refs/pr/3");
        assert!("org/name@".parse::<RepoRef>().is_err());
        assert!("org/name@../x".parse::<RepoRef>().is_err());
    }

    #[test]
    fn detects_commits() {
        assert!(Revision::new(&"a".repeat(40)).unwrap().is_commit());
        assert!(!Revision::new(&"A".repeat(40)).unwrap().is_commit());
        assert!(!Revision::main().is_commit());
    }
}
