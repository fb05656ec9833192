//! A repository on the Hub as a [`FileSource`]: its listing is the pinned tree, and a file is
//! read by downloading it into the huggingface_hub cache (verified) — what a task asks for to
//! decide which files it needs (`modules.json`), before anything large is fetched.

use lantern_core::protocol::ErrorCode;
use lantern_core::{ModelRef, RepoRef};
use lantern_hub::{CancelToken, HfCache, HubClient, HubError, NetworkMode};
use lantern_pipelines::source::{FileSource, SourceError, listing_paths};

pub struct HubSource<'a> {
    pub client: &'a HubClient,
    /// The repository at the pinned commit.
    pub repo: RepoRef,
    pub cache: HfCache,
    pub listed: &'a ModelRef,
}

impl FileSource for HubSource<'_> {
    fn paths(&self) -> Vec<(String, u64)> {
        listing_paths(&self.listed.files)
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let error = |code: ErrorCode, message: String| SourceError {
            path: path.to_owned(),
            code,
            message,
        };
        let snapshot = self
            .client
            .snapshot(
                &self.repo,
                &[path],
                &self.cache,
                NetworkMode::Online,
                &mut |_| {},
                &CancelToken::new(),
            )
            .await
            .map_err(|e| {
                let code = match e {
                    HubError::EntryNotFound { .. } => ErrorCode::NotFound,
                    _ => ErrorCode::Network,
                };
                error(code, e.to_string())
            })?;
        let file = snapshot
            .files
            .first()
            .ok_or_else(|| error(ErrorCode::NotFound, "the snapshot holds no file".into()))?;
        std::fs::read(file).map_err(|e| error(ErrorCode::Storage, e.to_string()))
    }
}
