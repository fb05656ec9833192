//! The kernels against CPU references on real weights, natively: Vulkan on lavapipe in CI
//! (`source scripts/env.sh` pins it), or whatever adapter the machine has. The same checks run
//! in headless Chromium from `tests/web.rs`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::OnceLock;

use common::checks::{self, Ctx};
use common::fixture::{SMOLLM, Source};

pub fn log(line: &str) {
    eprintln!("{line}");
}

/// The fixture files on disk (`scripts/fixtures.sh`; `LANTERN_FIXTURES` overrides the folder).
struct Files(PathBuf);

impl Source for Files {
    async fn read(&self, file: &str, start: u64, len: u64) -> Vec<u8> {
        let mut f = std::fs::File::open(self.0.join(file)).unwrap();
        f.seek(SeekFrom::Start(start)).unwrap();
        let mut out = Vec::new();
        f.take(len).read_to_end(&mut out).unwrap();
        out
    }
}

/// One device and one fixture for all checks (they run as threads and share it, as a model's
/// layers share a device).
fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let root = match std::env::var_os("LANTERN_FIXTURES") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/mirror"),
        };
        assert!(
            root.join(SMOLLM).is_file(),
            "{} is missing: run scripts/fixtures.sh",
            root.join(SMOLLM).display()
        );
        pollster::block_on(Ctx::new(&Files(root)))
    })
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                pollster::block_on(checks::$name(ctx()));
            }
        )*
    };
}

checks!(
    probe_reports_the_adapter,
    matmul_every_type,
    embedding_every_type,
    split_weights_match_whole,
    rms_norm_real,
    layer_norm_real,
    bert_dense_and_gelu,
    elementwise_real,
    rope_both_styles,
    attention_gqa_with_cache,
    attention_bert,
    unfold1d_real,
    window2d_ops,
    kv_cache_fork,
    softmax_real_logits,
    argmax_and_sampling,
    pool_and_pipelines_are_reused,
    errors_are_typed,
);
