//! Repository metadata: revision → commit, the file tree with sizes and hashes, and the headers
//! of a resolve answer.

use std::collections::BTreeMap;

use lantern_core::{ContentHash, ModelRef, RepoFile, RepoPath, RepoRef, is_commit_hash};
use serde::Deserialize;

use crate::cancel::CancelToken;
use crate::client::{ErrorContext, HubClient, join_url, parse_json, status_error};
use crate::error::{HubError, Result};
use crate::transport::{Method, Request};

/// Pages followed at most for one tree listing; the Hub's pages hold 1000 entries, so this
/// allows repositories of up to ten million files while stopping a server that loops.
const MAX_TREE_PAGES: usize = 10_000;

#[derive(Deserialize)]
struct RevisionInfo {
    sha: String,
}

#[derive(Deserialize)]
struct TreeEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    path: String,
    #[serde(default)]
    lfs: Option<LfsInfo>,
}

#[derive(Deserialize)]
struct LfsInfo {
    oid: String,
    size: u64,
}

/// What the resolve endpoint says about one file, without downloading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetadata {
    /// `X-Repo-Commit`: the commit the revision resolved to. Absent in browsers when the answer
    /// came through a redirect whose headers `fetch` hides.
    pub commit: Option<String>,
    /// `X-Linked-Etag` for LFS files (their sha256), else `ETag` (the git blob id).
    pub hash: Option<ContentHash>,
    /// `X-Linked-Size` for LFS files, else `Content-Length`.
    pub size: Option<u64>,
}

impl HubClient {
    /// Resolves a revision (branch, tag or commit) to its commit id through
    /// `GET /api/{type}/{repo}/revision/{rev}`.
    pub async fn commit(&self, repo: &RepoRef) -> Result<String> {
        let rev = repo.revision.as_str();
        let url = self.api_url(repo, &format!("/revision/{}", Self::encode_segment(rev)));
        let ctx = ErrorContext {
            repo,
            revision: rev,
            path: None,
        };
        let (info, _): (RevisionInfo, _) = self.get_json(&url, &ctx, &CancelToken::new()).await?;
        revision_commit(info, &url)
    }

    /// Lists every file of the repository at `commit` through the tree API
    /// (`?recursive=true`), following `Link: <...>; rel="next"` pages. Each entry's path is
    /// validated, so a hostile listing cannot name a file outside the repository.
    pub async fn list_files(&self, repo: &RepoRef, commit: &str) -> Result<Vec<RepoFile>> {
        let ctx = ErrorContext {
            repo,
            revision: commit,
            path: None,
        };
        let cancel = CancelToken::new();
        let mut url = self.api_url(
            repo,
            &format!("/tree/{}?recursive=true", Self::encode_segment(commit)),
        );
        let mut files = BTreeMap::new();
        let mut seen_urls = std::collections::HashSet::new();
        for _ in 0..MAX_TREE_PAGES {
            if !seen_urls.insert(url.clone()) {
                return Err(HubError::InvalidResponse {
                    url,
                    reason: "tree pagination loops".into(),
                });
            }
            let (entries, resp): (Vec<TreeEntry>, _) = self.get_json(&url, &ctx, &cancel).await?;
            for file in tree_files(entries, &url)? {
                if files.insert(file.path.clone(), file).is_some() {
                    return Err(HubError::InvalidResponse {
                        url,
                        reason: "a path is listed twice".into(),
                    });
                }
            }
            match resp.header("link").and_then(|l| next_tree_page(&url, l)) {
                Some(next) => url = next,
                None => return Ok(files.into_values().collect()),
            }
        }
        Err(HubError::InvalidResponse {
            url,
            reason: format!("more than {MAX_TREE_PAGES} tree pages"),
        })
    }

    /// Pins `paths` of a repository (all files when `paths` is empty): resolves the revision to
    /// a commit and records each file's size and hash. A path the repository does not have is
    /// [`HubError::EntryNotFound`].
    pub async fn pin(&self, repo: &RepoRef, paths: &[&str]) -> Result<ModelRef> {
        let commit = self.commit(repo).await?;
        let all = self.list_files(repo, &commit).await?;
        let files = if paths.is_empty() {
            all
        } else {
            let mut picked = Vec::with_capacity(paths.len());
            for p in paths {
                let path = RepoPath::new(p)?;
                let file =
                    all.iter()
                        .find(|f| f.path == path)
                        .ok_or_else(|| HubError::EntryNotFound {
                            repo: repo.id.to_string(),
                            revision: repo.revision.to_string(),
                            path: path.to_string(),
                        })?;
                picked.push(file.clone());
            }
            picked
        };
        Ok(ModelRef {
            repo: repo.id.clone(),
            repo_type: repo.repo_type,
            revision: repo.revision.to_string(),
            commit,
            files,
        })
    }

    /// `HEAD` on the resolve URL, without following the redirect (natively), as
    /// huggingface_hub does to learn a file's commit, hash and size.
    pub async fn file_metadata(&self, repo: &RepoRef, path: &RepoPath) -> Result<FileMetadata> {
        let rev = repo.revision.as_str();
        let ctx = ErrorContext {
            repo,
            revision: rev,
            path: Some(path.as_str()),
        };
        let url = self.resolve_url(repo, rev, path);
        let resp = self
            .send_once(Request::new(Method::Head, &url), false, &CancelToken::new())
            .await?;
        if !(200..400).contains(&resp.status) {
            return Err(status_error(resp, &ctx).await);
        }
        let etag = resp
            .header("x-linked-etag")
            .or_else(|| resp.header("etag"))
            .map(normalize_etag);
        let size = resp
            .header("x-linked-size")
            .or_else(|| resp.header("content-length"))
            .and_then(|s| s.trim().parse().ok());
        Ok(FileMetadata {
            commit: resp
                .header("x-repo-commit")
                .filter(|c| is_commit_hash(c))
                .map(str::to_owned),
            hash: etag.and_then(|e| ContentHash::from_hex(&e).ok()),
            size,
        })
    }
}

/// The commit of a revision API answer (`{"sha": ...}`, which must be a commit id), read from
/// its JSON `body` as [`HubClient::commit`] does; public so that the fuzz target `hub_json`
/// feeds it hostile answers without a server.
pub fn parse_revision(body: &[u8], url: &str) -> Result<String> {
    revision_commit(parse_json(body, url)?, url)
}

/// The files of one tree API page (`[{"type": "file", "path": ..., "oid": ..., "size": ...,
/// "lfs": {...}}, ...]`), as [`HubClient::list_files`] reads each page: entries that are not
/// files are skipped, each path is validated and each hash checked. Public for the fuzz target
/// `hub_json`, as [`parse_revision`].
pub fn parse_tree_page(body: &[u8], url: &str) -> Result<Vec<RepoFile>> {
    tree_files(parse_json(body, url)?, url)
}

/// The `rel="next"` URL of a tree page's `Link` header, resolved against the page's `url`, as
/// [`HubClient::list_files`] follows it (public for the fuzz target `hub_json`).
pub fn next_tree_page(url: &str, link_header: &str) -> Option<String> {
    next_link(link_header).map(|next| join_url(url, &next))
}

fn revision_commit(info: RevisionInfo, url: &str) -> Result<String> {
    if !is_commit_hash(&info.sha) {
        return Err(HubError::InvalidResponse {
            url: url.to_owned(),
            reason: format!("{:?} is not a commit id", info.sha),
        });
    }
    Ok(info.sha)
}

fn tree_files(entries: Vec<TreeEntry>, url: &str) -> Result<Vec<RepoFile>> {
    let mut files = Vec::with_capacity(entries.len());
    for entry in entries {
        files.extend(parse_entry(entry, url)?);
    }
    Ok(files)
}

/// `W/"abc"` → `abc`, as huggingface_hub normalizes ETags.
fn normalize_etag(etag: &str) -> String {
    etag.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_owned()
}

fn parse_entry(entry: TreeEntry, url: &str) -> Result<Option<RepoFile>> {
    if entry.kind != "file" {
        return Ok(None);
    }
    let bad = |reason: String| HubError::InvalidResponse {
        url: url.to_owned(),
        reason,
    };
    let path = RepoPath::new(&entry.path)?;
    let size = entry
        .size
        .ok_or_else(|| bad(format!("{path}: no size in the tree entry")))?;
    let hash = match entry.lfs {
        Some(lfs) => {
            if lfs.size != size {
                return Err(bad(format!("{path}: LFS size {} != size {size}", lfs.size)));
            }
            match ContentHash::from_hex(&lfs.oid) {
                Ok(h @ ContentHash::Sha256(_)) => h,
                _ => return Err(bad(format!("{path}: LFS oid is not a sha256"))),
            }
        }
        None => match entry.oid.as_deref().map(ContentHash::from_hex) {
            Some(Ok(h @ ContentHash::GitSha1(_))) => h,
            _ => return Err(bad(format!("{path}: oid is not a git blob id"))),
        },
    };
    Ok(Some(RepoFile { path, size, hash }))
}

/// The URL of `rel="next"` in a `Link` header (RFC 8288).
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_link_headers() {
        assert_eq!(
            next_link("<https://h/api/x?cursor=abc>; rel=\"next\"").as_deref(),
            Some("https://h/api/x?cursor=abc")
        );
        assert_eq!(
            next_link("</a>; rel=\"prev\", </b>; rel=\"next\"").as_deref(),
            Some("/b")
        );
        assert_eq!(next_link("</a>; rel=\"prev\""), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn normalizes_etags() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
    }

    #[test]
    fn refuses_hostile_tree_entries() {
        let entry = |path: &str| TreeEntry {
            kind: "file".into(),
            oid: Some("0".repeat(40)),
            size: Some(1),
            path: path.into(),
            lfs: None,
        };
        assert!(parse_entry(entry("../../etc/passwd"), "u").is_err());
        assert!(parse_entry(entry("/abs"), "u").is_err());
        assert!(parse_entry(entry("ok.json"), "u").unwrap().is_some());
        let mut lfs = entry("w.bin");
        lfs.lfs = Some(LfsInfo {
            oid: "0".repeat(40),
            size: 1,
        });
        assert!(parse_entry(lfs, "u").is_err(), "LFS oid must be a sha256");
    }
}
