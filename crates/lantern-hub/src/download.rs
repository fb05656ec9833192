//! Verified, resumable, cancellable downloads into the platform's cache.
//!
//! Written once for native and wasm32: the cache's `Partial` type (a file in the
//! huggingface_hub layout natively, an OPFS file in the browser) is the only platform part.

use futures_util::future::{Either, select};
use lantern_core::{ModelRef, Progress, RepoFile, RepoRef, Revision};

use crate::cache::{Begin, Cache, CachedFile, Partial};
use crate::cancel::CancelToken;
use crate::client::{ErrorContext, HubClient, race_cancel, status_error};
use crate::error::{HubError, Result};
use crate::transport::{Method, Request, sleep};
use crate::verify::Verifier;

impl HubClient {
    /// Makes every file of `model` available in `cache`, downloading what is missing.
    ///
    /// Each file is streamed (never buffered whole), hashed while it arrives, and becomes
    /// visible in the cache only once its size and hash match the pinned ones. A dropped
    /// connection resumes with a `Range` request for exactly the missing bytes; 5xx, 429 and
    /// network errors are retried with backoff; a partial file left by an earlier run (or
    /// another tab) is re-hashed and continued. `on_progress` sees byte counts against the
    /// pinned total, cached bytes included. Returns the cached files in `model.files` order.
    pub async fn download(
        &self,
        model: &ModelRef,
        cache: &Cache,
        on_progress: &mut (impl FnMut(&Progress) + ?Sized),
        cancel: &CancelToken,
    ) -> Result<Vec<CachedFile>> {
        let total = model.total_size();
        let mut finished = 0u64;
        let mut out = Vec::with_capacity(model.files.len());
        for file in &model.files {
            let mut report = |file_done: u64, reused: u64| {
                on_progress(&Progress {
                    file: file.path.to_string(),
                    file_done,
                    file_total: file.size,
                    done: finished + file_done,
                    total,
                    reused,
                });
            };
            let cached = self
                .download_file(model, file, cache, &mut report, cancel)
                .await?;
            finished += file.size;
            out.push(cached);
        }
        cache.record_revision(model)?;
        Ok(out)
    }

    async fn download_file(
        &self,
        model: &ModelRef,
        file: &RepoFile,
        cache: &Cache,
        report: &mut impl FnMut(u64, u64),
        cancel: &CancelToken,
    ) -> Result<CachedFile> {
        if let Some(found) = cache.lookup(model, file).await? {
            report(file.size, file.size);
            return Ok(found);
        }
        cache.reserve(file.size).await?;
        let mut partial = match cache.begin(model, file, cancel).await? {
            Begin::Cached(found) => {
                report(file.size, file.size);
                return Ok(found);
            }
            Begin::Partial(p) => p,
        };
        match self.fill(model, file, &mut partial, report, cancel).await {
            Ok(()) => partial.finish(model, file).await,
            Err(e @ (HubError::HashMismatch { .. } | HubError::SizeMismatch { .. })) => {
                // Bad bytes must not be resumed from: drop them all.
                partial.discard().await?;
                Err(e)
            }
            // Anything else keeps the verified-so-far prefix for a later resume.
            Err(e) => Err(e),
        }
    }

    /// Brings `partial` to the file's full size and checks its hash.
    async fn fill(
        &self,
        model: &ModelRef,
        file: &RepoFile,
        partial: &mut Partial,
        report: &mut impl FnMut(u64, u64),
        cancel: &CancelToken,
    ) -> Result<()> {
        let repo = RepoRef {
            id: model.repo.clone(),
            repo_type: model.repo_type,
            revision: Revision::new(&model.commit)?,
        };
        let url = self.resolve_url(&repo, &model.commit, &file.path);
        let ctx = ErrorContext {
            repo: &repo,
            revision: &model.commit,
            path: Some(file.path.as_str()),
        };

        if partial.len() > file.size {
            partial.reset().await?;
        }
        let mut state = Fill {
            verifier: Verifier::new(&file.hash, file.size),
            have: partial.len(),
            reused: partial.len(),
        };
        if state.have > 0 {
            // A resumed file is only as good as its bytes: hash what is already there.
            let verifier = &mut state.verifier;
            partial.replay(|chunk| verifier.update(chunk)).await?;
            tracing::debug!(path = %file.path, bytes = state.have, "resuming partial download");
        }
        report(state.have, state.reused);

        let mut failures = 0u32;
        while state.have < file.size {
            let before = state.have;
            let err = match self
                .attempt(&url, &ctx, file, partial, &mut state, report, cancel)
                .await
            {
                Ok(()) if state.have == file.size => break,
                Ok(()) => HubError::Network {
                    url: url.clone(),
                    message: format!(
                        "connection closed after {} of {} bytes",
                        state.have, file.size
                    ),
                },
                Err(e) => e,
            };
            if state.have > before {
                failures = 0;
            }
            if !err.is_retryable() || failures >= self.retry.max_retries {
                return Err(err);
            }
            let retry_after = match &err {
                HubError::RateLimited { retry_after } => *retry_after,
                _ => None,
            };
            let delay = self.retry.delay(failures, retry_after);
            tracing::info!(path = %file.path, have = state.have, %err, ?delay, "retrying download");
            race_cancel(cancel, sleep(delay)).await?;
            failures += 1;
        }

        let actual = std::mem::replace(&mut state.verifier, Verifier::new(&file.hash, 0)).finish();
        if actual != file.hash {
            return Err(HubError::HashMismatch {
                path: file.path.to_string(),
                expected: file.hash,
                actual: actual.to_hex(),
            });
        }
        Ok(())
    }

    /// One HTTP request: asks for the missing bytes and appends what arrives.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        url: &str,
        ctx: &ErrorContext<'_>,
        file: &RepoFile,
        partial: &mut Partial,
        state: &mut Fill,
        report: &mut impl FnMut(u64, u64),
        cancel: &CancelToken,
    ) -> Result<()> {
        let mut req = Request::new(Method::Get, url);
        if state.have > 0 {
            req = req.header("range", format!("bytes={}-", state.have));
        }
        let resp = self.send_once(req, true, cancel).await?;
        let mut resp = match resp.status {
            206 => {
                let start = resp.header("content-range").and_then(range_start);
                if start != Some(state.have) {
                    return Err(HubError::InvalidResponse {
                        url: url.to_owned(),
                        reason: format!(
                            "asked for bytes from {}, got Content-Range {:?}",
                            state.have,
                            resp.header("content-range")
                        ),
                    });
                }
                resp
            }
            200 => {
                if state.have > 0 {
                    // The server ignored the Range header: start over rather than append the
                    // beginning of the file twice.
                    partial.reset().await?;
                    state.verifier = Verifier::new(&file.hash, file.size);
                    state.have = 0;
                    state.reused = 0;
                    report(0, 0);
                }
                resp
            }
            _ => return Err(status_error(resp, ctx).await),
        };

        loop {
            let next = {
                let chunk = std::pin::pin!(resp.body.chunk());
                let idle = std::pin::pin!(sleep(self.idle_timeout));
                match race_cancel(cancel, select(chunk, idle)).await? {
                    Either::Left((r, _)) => Some(r),
                    Either::Right(((), _)) => None,
                }
            };
            let chunk = match next {
                Some(Ok(Some(chunk))) => chunk,
                Some(Ok(None)) => return Ok(()),
                Some(Err(e)) => {
                    return Err(HubError::Network {
                        url: url.to_owned(),
                        message: e.message,
                    });
                }
                None => {
                    return Err(HubError::Network {
                        url: url.to_owned(),
                        message: format!("no data for {:?}", self.idle_timeout),
                    });
                }
            };
            let after = state.have + chunk.len() as u64;
            if after > file.size {
                return Err(HubError::SizeMismatch {
                    path: file.path.to_string(),
                    expected: file.size,
                    actual: after,
                });
            }
            state.verifier.update(&chunk);
            partial.append(&chunk).await?;
            state.have = after;
            report(state.have, state.reused);
        }
    }
}

/// Progress of one file's download across attempts.
struct Fill {
    verifier: Verifier,
    have: u64,
    reused: u64,
}

/// First byte of `Content-Range: bytes a-b/size`.
fn range_start(header: &str) -> Option<u64> {
    let spec = header.trim().strip_prefix("bytes")?.trim_start();
    let (range, _) = spec.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    start.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::range_start;

    #[test]
    fn parses_content_range() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes */200"), None);
        assert_eq!(range_start("items 1-2/3"), None);
    }
}
