//! The JSON API: repo info (`/api/models/ORG/NAME[/revision/REV]`) and the tree listing
//! (`/api/models/ORG/NAME/tree/REV[/PATH]`), shaped as the Hub shapes them.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::Response;
use http::StatusCode;
use http::header;
use lantern_core::{RepoPath, RepoType};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::reply::{self, HubError, set};
use super::route::RepoKey;
use super::{Ctx, check_revision};
use crate::repo_index::{IndexedFile, TreeEntry};

/// Query flags come as `true` from httpx, `True` from requests, `1` from curl users.
fn flag(ctx: &Ctx<'_>, key: &str) -> bool {
    ctx.query_value(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

pub(crate) async fn info(ctx: &Ctx<'_>, repo: &RepoKey, rev: &str) -> Result<Response, HubError> {
    let (_, index) = ctx.shared.index(repo).await?;
    check_revision(rev, &index)?;
    // `?blobs=true` (huggingface_hub's `files_metadata=True`) adds sizes and hashes.
    let blobs = flag(ctx, "blobs");
    let siblings: Vec<Value> = index
        .files
        .iter()
        .map(|(path, f)| {
            if !blobs {
                return json!({ "rfilename": path });
            }
            let mut s = json!({ "rfilename": path, "size": f.size, "blobId": f.oid });
            if let Some(lfs) = &f.lfs {
                s["lfs"] = json!({
                    "sha256": lfs.sha256,
                    "size": f.size,
                    "pointerSize": lfs.pointer_size,
                });
            }
            s
        })
        .collect();
    let id = repo.id.to_string();
    let modified = iso8601(index.last_modified);
    let mut body = json!({
        "_id": mongo_like_id(repo),
        "id": id,
        "author": repo.id.owner(),
        "sha": index.commit,
        "lastModified": modified,
        "createdAt": modified,
        "private": false,
        "gated": false,
        "disabled": false,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": siblings,
    });
    if repo.kind == RepoType::Model {
        body["modelId"] = json!(id);
    }
    if blobs {
        body["usedStorage"] = json!(index.files.values().map(|f| f.size).sum::<u64>());
    }
    Ok(reply::json(StatusCode::OK, &body))
}

pub(crate) async fn tree(
    ctx: &Ctx<'_>,
    repo: &RepoKey,
    rev: &str,
    dir: Option<&RepoPath>,
) -> Result<Response, HubError> {
    let (_, index) = ctx.shared.index(repo).await?;
    check_revision(rev, &index)?;
    let dir = dir.map(RepoPath::as_str).unwrap_or("");
    let entries = index
        .tree(dir, flag(ctx, "recursive"))
        .ok_or_else(|| HubError::EntryNotFound(dir.to_owned()))?;

    let start = match ctx.query_value("cursor") {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|&i| i <= entries.len())
            .ok_or_else(|| HubError::BadRequest("invalid cursor".to_owned()))?,
    };
    let page_size = ctx.shared.config.page_size.max(1);
    let end = start.saturating_add(page_size).min(entries.len());
    let page: Vec<Value> = entries[start..end].iter().map(entry_json).collect();

    let mut r = reply::json(StatusCode::OK, &Value::Array(page));
    if end < entries.len() {
        let next = ctx.url_with_query("cursor", &end.to_string());
        set(
            r.headers_mut(),
            header::LINK,
            &format!("<{next}>; rel=\"next\""),
        );
    }
    Ok(r)
}

fn entry_json(entry: &TreeEntry<'_>) -> Value {
    match entry {
        TreeEntry::File(path, IndexedFile { size, oid, lfs }) => {
            let mut v = json!({ "type": "file", "oid": oid, "size": size, "path": path });
            if let Some(lfs) = lfs {
                v["lfs"] = json!({
                    "oid": lfs.sha256,
                    "size": size,
                    "pointerSize": lfs.pointer_size,
                });
            }
            v
        }
        TreeEntry::Dir(path, oid) => {
            json!({ "type": "directory", "oid": oid, "size": 0, "path": path })
        }
    }
}

/// The Hub's `_id` is a 24-hex MongoDB id; ours is derived from the repo so it is stable.
fn mongo_like_id(repo: &RepoKey) -> String {
    let digest = Sha1::digest(format!("{}/{}", repo.kind.singular(), repo.id).as_bytes());
    hex::encode(&digest[..12])
}

/// `2024-05-01T12:34:56.789Z`, the form the Hub uses and huggingface_hub parses.
fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`,
/// https://howardhinnant.github.io/date_algorithms.html#civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_dates() {
        let at = |s| iso8601(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(1_709_210_096), "2024-02-29T12:34:56.000Z");
        assert_eq!(
            iso8601(UNIX_EPOCH + Duration::from_millis(1_735_689_599_250)),
            "2024-12-31T23:59:59.250Z"
        );
    }
}
