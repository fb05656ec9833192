//! From URL path segments to what is asked for.
//!
//! Segments arrive raw (still percent-encoded) and are decoded one at a time, so an encoded `/`
//! stays inside its segment: `refs%2Fpr%2F1` is one revision. Everything that names a repo or a
//! file is validated here, before any file system access.

use lantern_core::{RepoId, RepoPath, RepoType};

use super::reply::HubError;
use crate::safety::decode_segment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RepoKey {
    pub(crate) kind: RepoType,
    pub(crate) id: RepoId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /api/{kind}/{org}/{name}[/revision/{rev}]`
    Info { repo: RepoKey, rev: String },
    /// `GET /api/{kind}/{org}/{name}/tree/{rev}[/{path}]`
    Tree {
        repo: RepoKey,
        rev: String,
        dir: Option<RepoPath>,
    },
    /// `GET|HEAD /[datasets/|spaces/]{org}/{name}/resolve/{rev}/{path}`
    Resolve {
        repo: RepoKey,
        rev: String,
        path: RepoPath,
    },
    /// `GET|HEAD /_lfs/{kind}/{org}/{name}/{sha256}`: where LFS resolves redirect to.
    Lfs { repo: RepoKey, sha256: String },
    /// `GET /_log/{id}`
    Log { id: String },
}

impl Route {
    pub(crate) fn is_api(&self) -> bool {
        matches!(self, Route::Info { .. } | Route::Tree { .. })
    }

    /// Parses the segments after the leading `/` (and after a fault prefix).
    pub(crate) fn parse(segs: &[&str]) -> Result<Route, HubError> {
        match segs {
            ["_log", id] => Ok(Route::Log { id: decode(id)? }),
            ["api", kind, org, name, rest @ ..] => {
                let repo = repo_key(api_kind(kind)?, org, name)?;
                match rest {
                    [] | [""] => Ok(Route::Info {
                        repo,
                        rev: "main".to_owned(),
                    }),
                    ["revision", rev @ ..] if !rev.is_empty() => Ok(Route::Info {
                        repo,
                        rev: join(rev)?,
                    }),
                    ["tree", rev, path @ ..] => {
                        // A folder may be written with a trailing slash.
                        let path = path.strip_suffix(&[""]).unwrap_or(path);
                        let dir = match path {
                            [] => None,
                            _ => Some(repo_path(path)?),
                        };
                        Ok(Route::Tree {
                            repo,
                            rev: decode(rev)?,
                            dir,
                        })
                    }
                    _ => Err(HubError::NotFound),
                }
            }
            ["_lfs", kind, org, name, sha256] => {
                let sha256 = decode(sha256)?;
                if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(HubError::BadRequest("not a sha256".to_owned()));
                }
                Ok(Route::Lfs {
                    repo: repo_key(api_kind(kind)?, org, name)?,
                    sha256: sha256.to_ascii_lowercase(),
                })
            }
            ["datasets", org, name, "resolve", rev, path @ ..] => {
                resolve(RepoType::Dataset, org, name, rev, path)
            }
            ["spaces", org, name, "resolve", rev, path @ ..] => {
                resolve(RepoType::Space, org, name, rev, path)
            }
            [org, name, "resolve", rev, path @ ..] => {
                resolve(RepoType::Model, org, name, rev, path)
            }
            _ => Err(HubError::NotFound),
        }
    }
}

fn resolve(
    kind: RepoType,
    org: &str,
    name: &str,
    rev: &str,
    path: &[&str],
) -> Result<Route, HubError> {
    Ok(Route::Resolve {
        repo: repo_key(kind, org, name)?,
        rev: decode(rev)?,
        path: repo_path(path)?,
    })
}

fn decode(raw: &str) -> Result<String, HubError> {
    decode_segment(raw).ok_or_else(|| HubError::BadRequest("URL path is not UTF-8".to_owned()))
}

fn join(raw: &[&str]) -> Result<String, HubError> {
    Ok(raw
        .iter()
        .map(|s| decode(s))
        .collect::<Result<Vec<_>, _>>()?
        .join("/"))
}

fn api_kind(raw: &str) -> Result<RepoType, HubError> {
    match raw {
        "models" => Ok(RepoType::Model),
        "datasets" => Ok(RepoType::Dataset),
        "spaces" => Ok(RepoType::Space),
        _ => Err(HubError::NotFound),
    }
}

fn repo_key(kind: RepoType, org: &str, name: &str) -> Result<RepoKey, HubError> {
    let id = RepoId::new(Some(&decode(org)?), &decode(name)?)
        .map_err(|e| HubError::BadRequest(e.to_string()))?;
    Ok(RepoKey { kind, id })
}

fn repo_path(raw: &[&str]) -> Result<RepoPath, HubError> {
    RepoPath::new(&join(raw)?).map_err(|e| HubError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> Result<Route, HubError> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        Route::parse(&segs)
    }

    #[test]
    fn parses_hub_urls() {
        let Ok(Route::Resolve { repo, rev, path }) =
            parse("/o/n/resolve/main/1_Pooling/config.json")
        else {
            panic!("not a resolve")
        };
        assert_eq!(
            (repo.kind, repo.id.to_string()),
            (RepoType::Model, "o/n".to_owned())
        );
        assert_eq!(
            (rev.as_str(), path.as_str()),
            ("main", "1_Pooling/config.json")
        );

        let Ok(Route::Resolve { repo, rev, .. }) = parse("/datasets/o/n/resolve/refs%2Fpr%2F1/x")
        else {
            panic!("not a resolve")
        };
        assert_eq!((repo.kind, rev.as_str()), (RepoType::Dataset, "refs/pr/1"));

        assert!(matches!(parse("/api/models/o/n"), Ok(Route::Info { rev, .. }) if rev == "main"));
        assert!(
            matches!(parse("/api/spaces/o/n/revision/refs%2Fpr%2F1"), Ok(Route::Info { rev, .. }) if rev == "refs/pr/1")
        );
        assert!(matches!(
            parse("/api/models/o/n/tree/main"),
            Ok(Route::Tree { dir: None, .. })
        ));
        assert!(
            matches!(parse("/api/models/o/n/tree/main/a%2Fb"), Ok(Route::Tree { dir: Some(d), .. }) if d.as_str() == "a/b")
        );
        assert!(
            matches!(parse(&format!("/_lfs/models/o/n/{}", "A".repeat(64))), Ok(Route::Lfs { sha256, .. }) if sha256 == "a".repeat(64))
        );
        assert!(matches!(parse("/_log/t1"), Ok(Route::Log { id }) if id == "t1"));
    }

    #[test]
    fn refuses_hostile_urls() {
        for bad in [
            "/o/n/resolve/main/../../../etc/passwd",
            "/o/n/resolve/main/%2e%2e/%2e%2e/x",
            "/o/n/resolve/main/a%2F..%2F..%2Fx",
            "/o/n/resolve/main/..%5c..%5cx",
            "/o/n/resolve/main/a%00b",
            "/o/n/resolve/main//etc/passwd",
            "/o/n/resolve/main/",
            "/%2e%2e/n/resolve/main/x",
            "/o/%2e%2e/resolve/main/x",
            "/api/models/o/n/tree/main/..",
            "/_lfs/models/o/n/xyz",
        ] {
            assert!(
                matches!(parse(bad), Err(HubError::BadRequest(_))),
                "{bad} not refused"
            );
        }
        for missing in [
            "//etc/passwd",
            "/../../etc/passwd",
            "/api/things/o/n",
            "/o/n/blob/main/x",
        ] {
            assert_eq!(parse(missing), Err(HubError::NotFound), "{missing}");
        }
    }
}
