//! File content: `resolve` URLs and the `_lfs` URLs that LFS files redirect to.
//!
//! As on the Hub, a regular (git) file is answered directly with its git blob id as ETag; an LFS
//! file is a 302 whose `X-Linked-Etag` / `X-Linked-Size` describe the content, to a URL that
//! plays the CDN and answers with the sha256 as ETag.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};
use lantern_core::RepoPath;
use tokio::io::AsyncSeekExt;

use super::Ctx;
use super::reply::{self, HubError, X_LINKED_ETAG, X_LINKED_SIZE, X_REPO_COMMIT, set};
use super::route::RepoKey;
use crate::body::{self, BodyFaults};
use crate::log::{FaultKind, Record};
use crate::range::{ByteRange, etag_matches, parse_range};
use crate::safety;

/// A GET that will be answered with file bytes: headers are ready, the body is not yet made, so
/// that faults can still change it.
#[derive(Debug)]
pub(crate) struct Content {
    head: Response,
    file: tokio::fs::File,
    start: u64,
    len: u64,
}

/// What a route produces: a finished response, or file content to stream.
#[derive(Debug)]
pub(crate) enum Answer {
    Reply(Response),
    Content(Content),
}

impl Content {
    /// The response with its body, and which fault, if any, actually changes it.
    pub(crate) fn into_response(
        self,
        faults: BodyFaults,
        record: Option<Arc<Record>>,
    ) -> (Response, Option<FaultKind>) {
        let range = self.start..self.start + self.len;
        let fault = if faults.drop_after.is_some_and(|n| n < self.len) {
            Some(FaultKind::Drop)
        } else if faults.flip.is_some_and(|at| range.contains(&at)) {
            Some(FaultKind::Flip)
        } else if faults.delay.is_some() {
            Some(FaultKind::Delay)
        } else {
            None
        };
        let body = body::file_body(self.file, self.start, self.len, faults, record);
        let (parts, _) = self.head.into_parts();
        (Response::from_parts(parts, body), fault)
    }
}

fn content_type(path: &str) -> &'static str {
    match path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "json" => "application/json",
        Some(ext) if ext == "txt" || ext == "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Answers a request for `file` (`size` bytes, ETag `etag`) with Range and `If-None-Match`
/// support. `headers` go on every answer, including 304 and 416.
async fn serve_file(
    ctx: &Ctx<'_>,
    file: PathBuf,
    size: u64,
    etag: &str,
    mut headers: HeaderMap,
) -> Result<Answer, HubError> {
    set(&mut headers, header::ETAG, &format!("\"{etag}\""));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let header_str = |name| {
        ctx.headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if header_str(header::IF_NONE_MATCH).is_some_and(|v| etag_matches(v, etag)) {
        let mut r = reply::response(StatusCode::NOT_MODIFIED, Body::empty());
        *r.headers_mut() = headers;
        return Ok(Answer::Reply(r));
    }
    // A Range with an If-Range for another version of the file gets the whole new file.
    let range_header = match header_str(header::IF_RANGE) {
        Some(v) if !etag_matches(v, etag) => None,
        _ => header_str(header::RANGE),
    };
    let (status, start, len) = match parse_range(range_header, size) {
        ByteRange::Full => (StatusCode::OK, 0, size),
        ByteRange::Partial { start, end } => {
            set(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{size}"),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        ByteRange::Unsatisfiable => {
            set(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes */{size}"),
            );
            let mut r = reply::response(StatusCode::RANGE_NOT_SATISFIABLE, Body::empty());
            *r.headers_mut() = headers;
            return Ok(Answer::Reply(r));
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));

    let mut head = reply::response(status, Body::empty());
    *head.headers_mut() = headers;
    if ctx.head {
        return Ok(Answer::Reply(head));
    }
    let mut file = tokio::fs::File::open(&file)
        .await
        .map_err(|e| HubError::Internal(format!("cannot open file: {e}")))?;
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| HubError::Internal(format!("cannot seek: {e}")))?;
    Ok(Answer::Content(Content {
        head,
        file,
        start,
        len,
    }))
}

fn commit_header(commit: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    set(&mut headers, X_REPO_COMMIT, commit);
    headers
}

/// The file's location on disk, checked again against symlinks and the root: the index already
/// leaves symlinks out, but the folder may have changed since it was built.
async fn locate(ctx: &Ctx<'_>, repo_dir: PathBuf, path: RepoPath) -> Result<PathBuf, HubError> {
    let root = ctx.shared.root.clone();
    let shown = path.to_string();
    tokio::task::spawn_blocking(move || safety::file_in_repo(&root, &repo_dir, &path))
        .await
        .map_err(|e| HubError::Internal(e.to_string()))?
        .ok_or(HubError::EntryNotFound(shown))
}

pub(crate) async fn resolve(
    ctx: &Ctx<'_>,
    repo: &RepoKey,
    rev: &str,
    path: RepoPath,
) -> Result<Answer, HubError> {
    let (repo_dir, index) = ctx.shared.index(repo).await?;
    super::check_revision(rev, &index)?;
    let file = index
        .files
        .get(path.as_str())
        .ok_or_else(|| HubError::EntryNotFound(path.to_string()))?;
    let mut headers = commit_header(&index.commit);
    match &file.lfs {
        Some(lfs) => {
            // Path-absolute like the Hub's own relative redirects, so it works under any host
            // name and mount point; the fault prefix is kept so faults reach the content too.
            let location = format!(
                "{}/_lfs/{}/{}/{}",
                ctx.prefix,
                repo.kind.api_segment(),
                repo.id,
                lfs.sha256
            );
            set(&mut headers, header::LOCATION, &location);
            set(&mut headers, X_LINKED_ETAG, &format!("\"{}\"", lfs.sha256));
            headers.insert(X_LINKED_SIZE, HeaderValue::from(file.size));
            set(&mut headers, header::ETAG, &format!("\"{}\"", file.oid));
            let mut r = reply::response(StatusCode::FOUND, Body::empty());
            *r.headers_mut() = headers;
            Ok(Answer::Reply(r))
        }
        None => {
            set(
                &mut headers,
                header::CONTENT_TYPE,
                content_type(path.as_str()),
            );
            let (size, oid) = (file.size, file.oid.clone());
            let on_disk = locate(ctx, repo_dir, path).await?;
            serve_file(ctx, on_disk, size, &oid, headers).await
        }
    }
}

pub(crate) async fn lfs(ctx: &Ctx<'_>, repo: &RepoKey, sha256: &str) -> Result<Answer, HubError> {
    let (repo_dir, index) = ctx.shared.index(repo).await?;
    let (path, file) = index
        .lfs_file(sha256)
        .ok_or_else(|| HubError::EntryNotFound(sha256.to_owned()))?;
    let path = RepoPath::new(path).map_err(|e| HubError::Internal(e.to_string()))?;
    let size = file.size;
    // huggingface_hub follows redirects that stay on the same host and then reads the commit
    // from the final response, so the CDN stand-in must say it too.
    let mut headers = commit_header(&index.commit);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let on_disk = locate(ctx, repo_dir, path).await?;
    serve_file(ctx, on_disk, size, sha256, headers).await
}
