//! [`DirSource`]: a repository's files in a folder (native builds only).

use std::path::{Path, PathBuf};

use lantern_core::protocol::ErrorCode;

use super::{FileSource, SourceError};

/// A folder holding a repository's files (a snapshot folder of the huggingface_hub cache, or a
/// plain copy), read with the file system.
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
    paths: Vec<(String, u64)>,
}

impl DirSource {
    /// Lists `dir` recursively (`1_Pooling/config.json` is a path like any other). Symbolic
    /// links are followed, as the huggingface_hub cache's snapshot folders are made of them.
    pub fn new(dir: &Path) -> Result<Self, SourceError> {
        let mut paths = Vec::new();
        let mut pending = vec![PathBuf::new()];
        while let Some(rel) = pending.pop() {
            let entries = std::fs::read_dir(dir.join(&rel)).map_err(|e| SourceError {
                path: dir.join(&rel).display().to_string(),
                code: ErrorCode::Storage,
                message: e.to_string(),
            })?;
            for entry in entries.flatten() {
                let rel = rel.join(entry.file_name());
                let Ok(meta) = std::fs::metadata(entry.path()) else {
                    continue;
                };
                if meta.is_dir() {
                    pending.push(rel);
                } else if let Some(p) = rel.to_str() {
                    paths.push((p.replace('\\', "/"), meta.len()));
                }
            }
        }
        paths.sort();
        Ok(DirSource {
            dir: dir.to_owned(),
            paths,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl FileSource for DirSource {
    fn paths(&self) -> Vec<(String, u64)> {
        self.paths.clone()
    }

    fn read(&self, path: &str) -> impl Future<Output = Result<Vec<u8>, SourceError>> {
        let result = std::fs::read(self.dir.join(path)).map_err(|e| SourceError {
            path: path.to_owned(),
            code: match e.kind() {
                std::io::ErrorKind::NotFound => ErrorCode::NotFound,
                _ => ErrorCode::Storage,
            },
            message: e.to_string(),
        });
        std::future::ready(result)
    }
}
