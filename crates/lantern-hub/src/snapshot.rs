//! Native convenience: a revision's files in the cache, online when possible, offline otherwise.

use lantern_core::{Progress, RepoRef};

use crate::cache::{CachedSnapshot, HfCache};
use crate::cancel::CancelToken;
use crate::client::HubClient;
use crate::error::{HubError, Result};

/// Whether to ask the network, as `HF_HUB_OFFLINE` decides for huggingface_hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// Ask the Hub which commit the revision is at; use the cache if the Hub is unreachable.
    #[default]
    Online,
    /// Never touch the network.
    Offline,
}

impl HubClient {
    /// Ensures `paths` of `repo` (all files when empty) are in `cache` and returns them.
    ///
    /// Online, the revision is resolved and missing files are downloaded. When the Hub cannot
    /// be reached at all (a network error, not an HTTP answer such as 404), a revision already
    /// in the cache is used as it is, as huggingface_hub does.
    pub async fn snapshot(
        &self,
        repo: &RepoRef,
        paths: &[&str],
        cache: &HfCache,
        mode: NetworkMode,
        on_progress: &mut (impl FnMut(&Progress) + ?Sized),
        cancel: &CancelToken,
    ) -> Result<CachedSnapshot> {
        if mode == NetworkMode::Offline {
            return cache.cached_snapshot(repo, paths);
        }
        let model = match self.pin(repo, paths).await {
            Ok(m) => m,
            Err(e @ HubError::Network { .. }) => {
                return cache
                    .cached_snapshot(repo, paths)
                    .map_err(|_| e)
                    .inspect(|_| {
                        tracing::warn!("the Hub is unreachable; using the cached {repo}");
                    });
            }
            Err(e) => return Err(e),
        };
        let files = self.download(&model, cache, on_progress, cancel).await?;
        let dir = cache
            .repo_dir(model.repo_type, &model.repo)
            .join("snapshots")
            .join(&model.commit);
        Ok(CachedSnapshot {
            commit: model.commit,
            dir,
            files,
        })
    }
}
