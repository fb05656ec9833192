//! `lantern build` as an author runs it: a Space from a manifest, its front matter checked
//! against the Spaces configuration reference, a bundled model, and every refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use lantern_mirror::testing::{
    EMBEDDING_REPO, GGUF_FILE, fixture_dir, start_fixture_mirror, start_mirror,
};
use serde_norway::Value;

const TINY_REPO: &str = "lantern-test/tiny-GGUF";
const TINY_FILE: &str = "tiny.Q4_0.gguf";

fn tiny_manifest(extra_model: &str) -> String {
    format!(
        "title = \"Tiny\"\nemoji = \"🧪\"\ntask = \"text-generation\"\n\
         description = \"A tiny test model.\"\n\n[model]\nrepo = \"{TINY_REPO}\"\n\
         license = \"mit\"\n{extra_model}"
    )
}

/// A mirror root with the tiny GGUF repo; returns (tempdir, root).
fn tiny_mirror() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mirror");
    repo(
        &root,
        TINY_REPO,
        &[
            (TINY_FILE, b"GGUF tiny weights, not a real model"),
            ("other.Q8_0.gguf", b"GGUF another file"),
        ],
    );
    (tmp, root)
}

fn write_manifest(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("demo.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_bundled_space_is_complete_and_carries_no_token() {
    let (tmp, root) = tiny_mirror();
    let mirror = start_mirror(&root);
    let runtime = runtime(tmp.path());
    let demo = write_manifest(
        tmp.path(),
        &tiny_manifest(&format!("files = [\"{TINY_FILE}\"]\n")),
    );
    let out_dir = tmp.path().join("space");
    // A token no file could contain by chance (a real vocabulary holds words like "SECRET").
    let token = format!(
        "hf_lanternTest{}x{}",
        std::process::id(),
        "Q7zK3vW9".repeat(3)
    );
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .env("HF_TOKEN", &token)
        .arg("build")
        .arg(&demo)
        .arg("--out")
        .arg(&out_dir)
        .arg("--runtime")
        .arg(&runtime)
        .arg("--bundle-model")
        .output()
        .unwrap();
    let report = ok(&out);
    assert!(!report.contains(&token) && !stdout(&out).contains(&token));
    for file in all_files(&out_dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} contains the token",
            file.display()
        );
    }

    // The report: what a visitor downloads first, and the model.
    for part in ["page:", "worker:", "widget.js:", "model:", "bundled"] {
        assert!(report.contains(part), "{part} missing from:\n{report}");
    }

    // demo.json downloads from the Space's own origin, at the pinned commit.
    let demo_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(demo_json["endpoint"], "./hub");
    let commit = mirror.commit_of(TINY_REPO).unwrap();
    assert_eq!(demo_json["model"]["commit"], commit.as_str());
    assert_eq!(demo_json["model"]["files"].as_array().unwrap().len(), 1);
    assert_eq!(demo_json["quantization"], "Q4_0");
    let bundled = out_dir.join(format!("hub/{TINY_REPO}/resolve/{commit}/{TINY_FILE}"));
    assert_eq!(
        std::fs::read(&bundled).unwrap(),
        std::fs::read(root.join(TINY_REPO).join(TINY_FILE)).unwrap()
    );
    assert!(
        !out_dir
            .join(format!("hub/{TINY_REPO}/resolve/{commit}/other.Q8_0.gguf"))
            .exists(),
        "only the pinned files are bundled"
    );
    let attributes = std::fs::read_to_string(out_dir.join(".gitattributes")).unwrap();
    assert!(attributes.contains("*.wasm filter=lfs diff=lfs merge=lfs -text"));
    assert!(attributes.contains("hub/** filter=lfs diff=lfs merge=lfs -text"));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("widget.js")).unwrap(),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../static/widget.js")
        )
        .unwrap()
    );
    for f in [
        "index.html",
        "worker/worker.js",
        "worker/st/lantern_worker_bg.wasm",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} not copied");
    }

    // Built again, unbundled, from a runtime whose page has another hash: what the first build
    // wrote and this one does not replace is gone; a file of the author's stays.
    std::fs::write(out_dir.join("NOTES.md"), "mine").unwrap();
    std::fs::rename(
        runtime.join("lantern-app-0123456789abcdef.js"),
        runtime.join("lantern-app-fedcba9876543210.js"),
    )
    .unwrap();
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(&demo)
        .arg("--out")
        .arg(&out_dir)
        .arg("--runtime")
        .arg(&runtime)
        .output()
        .unwrap();
    ok(&out);
    assert!(!out_dir.join("hub").exists());
    assert!(!out_dir.join("lantern-app-0123456789abcdef.js").exists());
    assert!(out_dir.join("lantern-app-fedcba9876543210.js").exists());
    assert!(out_dir.join("NOTES.md").exists());
    let demo_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("demo.json")).unwrap()).unwrap();
    assert_eq!(demo_json["endpoint"], mirror.url().as_str());
    assert!(
        !std::fs::read_to_string(out_dir.join(".gitattributes"))
            .unwrap()
            .contains("hub/")
    );
}

/// Every key the Spaces configuration reference lists
/// (<https://huggingface.co/docs/hub/spaces-config-reference>), plus `license`, which is
/// repository-card metadata.
const REFERENCE_KEYS: &[&str] = &[
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "python_version",
    "sdk_version",
    "suggested_hardware",
    "suggested_storage",
    "app_file",
    "app_build_command",
    "app_port",
    "base_path",
    "fullWidth",
    "header",
    "short_description",
    "models",
    "datasets",
    "tags",
    "thumbnail",
    "pinned",
    "hf_oauth",
    "hf_oauth_scopes",
    "hf_oauth_expiration_minutes",
    "hf_oauth_authorized_org",
    "disable_embedding",
    "startup_duration_timeout",
    "custom_headers",
    "preload_from_hub",
    "license",
];
const COLORS: &[&str] = &[
    "red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray",
];

/// The YAML between the first two `---` lines, parsed.
fn front_matter(readme: &str) -> serde_norway::Mapping {
    let rest = readme
        .strip_prefix("---\n")
        .expect("README starts with ---");
    let end = rest.find("\n---\n").expect("front matter is closed");
    match serde_norway::from_str(&rest[..end]).unwrap() {
        Value::Mapping(m) => m,
        other => panic!("front matter is not a mapping: {other:?}"),
    }
}

fn text<'a>(m: &'a serde_norway::Mapping, key: &str) -> &'a str {
    m.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// Checks a built Space's README key by key, and that every file it names exists.
fn check_space_readme(space: &Path, repo: &str) {
    let readme = std::fs::read_to_string(space.join("README.md")).unwrap();
    let m = front_matter(&readme);
    for key in m.keys() {
        let key = key.as_str().unwrap();
        assert!(
            REFERENCE_KEYS.contains(&key),
            "{key} is not a Space configuration key"
        );
    }
    assert!(!text(&m, "title").trim().is_empty());
    let emoji = text(&m, "emoji");
    assert!(
        !emoji.is_empty()
            && !emoji
                .chars()
                .any(|c| c.is_ascii_alphanumeric() || c.is_whitespace()),
        "emoji {emoji:?}"
    );
    for key in ["colorFrom", "colorTo"] {
        assert!(COLORS.contains(&text(&m, key)), "{key}: {}", text(&m, key));
    }
    assert_eq!(text(&m, "sdk"), "static");
    let app_file = text(&m, "app_file");
    assert!(
        space.join(app_file).is_file(),
        "app_file {app_file} does not exist"
    );
    let short = text(&m, "short_description");
    assert!(
        !short.is_empty() && short.encode_utf16().count() <= 60,
        "{short:?}"
    );
    let models: Vec<&str> = m["models"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(models, [repo]);
    assert!(
        m["tags"]
            .as_sequence()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );
    assert_eq!(text(&m, "license"), "apache-2.0");
    let headers = m["custom_headers"].as_mapping().unwrap();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap()))
        .collect();
    assert_eq!(
        headers,
        [
            ("cross-origin-embedder-policy", "require-corp"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cross-origin-resource-policy", "cross-origin"),
        ],
        "the reference allows these three, lower case"
    );
    // The body's embed snippet names widget.js.
    assert!(readme.contains("/widget.js"));
    assert!(space.join("widget.js").is_file());
}

#[test]
fn front_matter_follows_the_spaces_configuration_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let runtime = runtime(tmp.path());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");

    let chat = tmp.path().join("chat");
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(workspace.join("tests/demos/chat.toml"))
        .arg("--out")
        .arg(&chat)
        .arg("--runtime")
        .arg(&runtime)
        .output()
        .unwrap();
    ok(&out);
    check_space_readme(&chat, "lantern-fixtures/SmolLM2-135M-Instruct-GGUF");
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(chat.join("demo.json")).unwrap()).unwrap();
    assert_eq!(demo["model"]["files"][0]["path"], GGUF_FILE);

    // The embeddings demo, bundled: the files the pipeline reads, sub-folders included.
    let emb = tmp.path().join("embeddings");
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(workspace.join("tests/demos/embeddings.toml"))
        .arg("--out")
        .arg(&emb)
        .arg("--runtime")
        .arg(&runtime)
        .arg("--bundle-model")
        .output()
        .unwrap();
    ok(&out);
    check_space_readme(&emb, EMBEDDING_REPO);
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(emb.join("demo.json")).unwrap()).unwrap();
    let commit = demo["model"]["commit"].as_str().unwrap();
    let paths: Vec<&str> = demo["model"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"1_Pooling/config.json") && paths.contains(&"model.safetensors"),
        "{paths:?}"
    );
    for path in paths {
        let bundled = emb.join(format!("hub/{EMBEDDING_REPO}/resolve/{commit}/{path}"));
        assert_eq!(
            std::fs::read(&bundled).unwrap(),
            std::fs::read(fixture_dir().join(EMBEDDING_REPO).join(path)).unwrap(),
            "{path}"
        );
    }
}

#[test]
fn refusals_are_clear_and_write_nothing() {
    let (tmp, root) = tiny_mirror();
    let mirror = start_mirror(&root);
    let runtime = runtime(tmp.path());
    let files = format!("files = [\"{TINY_FILE}\"]\n");
    let big_hub = fake_hub("lantern-test/huge-GGUF", "huge.Q4_K_M.gguf", 3_000_000_000);
    let cases: Vec<(&str, String, Option<&str>, &[&str])> = vec![
        (
            "an unknown key",
            tiny_manifest(&files).replace("[model]", "temprature = 0.5\n[model]"),
            None,
            &["unknown field", "temprature"],
        ),
        (
            "a missing field",
            "title = \"x\"\ntask = \"text-generation\"\n".into(),
            None,
            &["missing field", "model"],
        ),
        (
            "an unknown task",
            tiny_manifest(&files).replace("text-generation", "text-to-speech"),
            None,
            &["text-to-speech"],
        ),
        (
            "a file the repository does not have",
            tiny_manifest("files = [\"nope.Q4_0.gguf\"]\n"),
            None,
            &[
                "has no file \"nope.Q4_0.gguf\"",
                TINY_FILE,
                "other.Q8_0.gguf",
            ],
        ),
        (
            "no .gguf named",
            tiny_manifest(""),
            None,
            &["must name its .gguf file", TINY_FILE],
        ),
        (
            "two .gguf files",
            tiny_manifest(&format!("files = [\"{TINY_FILE}\", \"other.Q8_0.gguf\"]\n")),
            None,
            &["one .gguf file", "names 2"],
        ),
        (
            "a model too large for wasm32",
            tiny_manifest("files = [\"huge.Q4_K_M.gguf\"]\n")
                .replace(TINY_REPO, "lantern-test/huge-GGUF"),
            Some(big_hub.as_str()),
            &["too large for the browser", "3.00 GB", "2 GiB"],
        ),
        (
            "a colour a Space does not accept",
            tiny_manifest(&files).replace(
                "[model]",
                "colors = { from = \"teal\", to = \"red\" }\n[model]",
            ),
            None,
            &["colour \"teal\""],
        ),
        (
            "a licence the Hub does not know",
            tiny_manifest(&files).replace("\"mit\"", "\"MIT License\""),
            None,
            &["license \"MIT License\"", "repositories-licenses"],
        ),
    ];
    for (what, manifest, endpoint, expected) in cases {
        let case_dir = tempfile::tempdir().unwrap();
        let demo = write_manifest(case_dir.path(), &manifest);
        let out_dir = case_dir.path().join("space");
        let out = lantern(endpoint.unwrap_or(&mirror.url()), &tmp.path().join("cache"))
            .arg("build")
            .arg(&demo)
            .arg("--out")
            .arg(&out_dir)
            .arg("--runtime")
            .arg(&runtime)
            .output()
            .unwrap();
        let err = fails(&out);
        for e in expected {
            assert!(err.contains(e), "{what}: {e:?} not in:\n{err}");
        }
        assert!(!out_dir.exists(), "{what}: the Space folder was written");
    }

    // Credentials in the endpoint would be published in demo.json.
    let demo = write_manifest(tmp.path(), &tiny_manifest(&files));
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(&demo)
        .arg("--out")
        .arg(tmp.path().join("space"))
        .arg("--runtime")
        .arg(&runtime)
        .arg("--endpoint")
        .arg("https://user:hunter2@example.com")
        .output()
        .unwrap();
    let err = fails(&out);
    assert!(
        err.contains("credentials") && !err.contains("hunter2"),
        "{err}"
    );
}
