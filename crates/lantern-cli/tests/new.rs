//! `lantern new` against a mirror of small synthetic repositories (with model cards the
//! fixture repos do not have) and the real MiniLM repository with its real card.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use lantern_mirror::testing::{
    EMBEDDING_REPO, TEXT_CLASSIFICATION_BERT_REPO, start_fixture_mirror, start_mirror,
};

/// What `lantern new` wrote, parsed.
fn manifest(dir: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(dir.join("demo.toml")).unwrap()).unwrap()
}

fn new(endpoint: &str, tmp: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    lantern(endpoint, &tmp.join("cache"))
        .arg("new")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn mirror_root(tmp: &Path) -> std::path::PathBuf {
    let root = tmp.join("mirror");
    repo(
        &root,
        "org/multi-GGUF",
        &[
            (
                "README.md",
                &card(
                    "license: apache-2.0\nlibrary_name: gguf\npipeline_tag: text-generation\ntags:\n- llama",
                ),
            ),
            ("m.Q8_0.gguf", &[1u8; 3000]),
            ("m.Q4_0.gguf", &[1u8; 1500]),
            ("m.Q4_K_M.gguf", &[1u8; 2000]),
            ("m-IQ4_XS.gguf", &[1u8; 1000]),
            ("mmproj-m-f16.gguf", &[1u8; 500]),
        ],
    );
    repo(
        &root,
        "org/cardless-GGUF",
        &[("m.Q8_0.gguf", &[1u8; 3000]), ("m.Q4_0.gguf", &[1u8; 1500])],
    );
    repo(
        &root,
        "org/vision",
        &[
            ("README.md", &card("pipeline_tag: image-segmentation")),
            ("model.safetensors", b"x"),
        ],
    );
    repo(
        &root,
        "org/broken-card-GGUF",
        &[
            ("README.md", b"---\nlicense: [mit\n---\n"),
            ("m.Q4_1.gguf", &[1u8; 100]),
        ],
    );
    repo(
        &root,
        "org/iq-only-GGUF",
        &[("m-IQ2_XXS.gguf", &[1u8; 100])],
    );
    root
}

#[test]
fn a_gguf_repository_gets_its_task_licence_and_default_file_from_card_and_list() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_mirror(&mirror_root(tmp.path()));
    let dir = tmp.path().join("demo");
    let out = new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &["--model", "org/multi-GGUF"],
    );
    let report = ok(&out);
    assert_eq!(
        stdout(&out).trim(),
        dir.join("demo.toml").display().to_string()
    );
    // Every .gguf listed with its size, the pick marked and explained, the others' reasons.
    for line in [
        "* m.Q4_K_M.gguf",
        "m.Q8_0.gguf",
        "3.0 kB",
        "m-IQ4_XS.gguf",
        "do not run",
        "mmproj-m-f16.gguf",
        "projector",
        "Q4_K_M is the usual balance",
        "pipeline_tag is text-generation",
    ] {
        assert!(report.contains(line), "{line:?} not in:\n{report}");
    }
    let m = manifest(&dir);
    assert_eq!(m["task"].as_str(), Some("text-generation"));
    assert_eq!(m["model"]["repo"].as_str(), Some("org/multi-GGUF"));
    assert_eq!(m["model"]["files"][0].as_str(), Some("m.Q4_K_M.gguf"));
    assert_eq!(m["model"]["license"].as_str(), Some("apache-2.0"));

    // A second run does not overwrite the author's edits; --force does.
    let err = fails(&new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &["--model", "org/multi-GGUF"],
    ));
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    let out = new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &[
            "--model",
            "org/multi-GGUF",
            "--file",
            "m.Q8_0.gguf",
            "--force",
        ],
    );
    ok(&out);
    assert_eq!(
        manifest(&dir)["model"]["files"][0].as_str(),
        Some("m.Q8_0.gguf")
    );

    // The scaffold builds.
    let runtime = runtime(tmp.path());
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(dir.join("demo.toml"))
        .arg("--out")
        .arg(dir.join("space"))
        .arg("--runtime")
        .arg(&runtime)
        .output()
        .unwrap();
    ok(&out);
    assert!(dir.join("space/demo.json").is_file());
}

#[test]
fn without_a_card_the_files_decide() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_mirror(&mirror_root(tmp.path()));
    let dir = tmp.path().join("demo");
    let report = ok(&new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &["--model", "org/cardless-GGUF"],
    ));
    assert!(report.contains("no README.md"), "{report}");
    assert!(report.contains("Q4_1/Q4_0"), "{report}");
    let m = manifest(&dir);
    assert_eq!(m["task"].as_str(), Some("text-generation"));
    assert_eq!(m["model"]["files"][0].as_str(), Some("m.Q4_0.gguf"));
    assert!(m["model"].get("license").is_none());

    // A card that is not valid YAML is reported, and the files decide.
    let dir = tmp.path().join("broken");
    let report = ok(&new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &["--model", "org/broken-card-GGUF"],
    ));
    assert!(
        report.contains("not usable") && report.contains("YAML"),
        "{report}"
    );
    assert_eq!(
        manifest(&dir)["model"]["files"][0].as_str(),
        Some("m.Q4_1.gguf")
    );
}

#[test]
fn what_lantern_cannot_run_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_mirror(&mirror_root(tmp.path()));
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--model", "org/vision"],
            &["image-segmentation", "--task"],
        ),
        (
            &["--model", "org/iq-only-GGUF"],
            &["none of", "can run", "--file"],
        ),
        (
            &["--model", "org/multi-GGUF", "--file", "m.Q5_0.gguf"],
            &["has no file \"m.Q5_0.gguf\""],
        ),
        (
            &["--model", "org/multi-GGUF", "--file", "m-IQ4_XS.gguf"],
            &["cannot run in the browser", "do not run"],
        ),
        (
            &["--model", "org/multi-GGUF", "--task", "text-to-speech"],
            &["unknown task \"text-to-speech\""],
        ),
        (
            &["--model", "org/no-such-model"],
            &["not found", "org/no-such-model"],
        ),
    ];
    for (i, (args, expected)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case{i}"));
        let err = fails(&new(&mirror.url(), tmp.path(), &dir, args));
        for e in *expected {
            assert!(err.contains(e), "{args:?}: {e:?} not in:\n{err}");
        }
        assert!(!dir.join("demo.toml").exists(), "{args:?} wrote a manifest");
    }
}

#[test]
fn the_real_minilm_card_makes_a_similarity_demo_that_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let dir = tmp.path().join("demo");
    let report = ok(&new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &["--model", EMBEDDING_REPO],
    ));
    assert!(
        report.contains("library_name sentence-transformers"),
        "{report}"
    );
    let m = manifest(&dir);
    assert_eq!(m["task"].as_str(), Some("sentence-similarity"));
    assert_eq!(m["model"]["license"].as_str(), Some("apache-2.0"));
    assert!(m["embeddings"]["sentences"].as_array().unwrap().len() >= 4);

    // An embeddings demo takes the pipeline's files, not one --file.
    let err = fails(&new(
        &mirror.url(),
        tmp.path(),
        &tmp.path().join("other"),
        &["--model", EMBEDDING_REPO, "--file", "model.safetensors"],
    ));
    assert!(
        err.contains("--file") && err.contains("text-generation"),
        "{err}"
    );

    let runtime = runtime(tmp.path());
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(dir.join("demo.toml"))
        .arg("--out")
        .arg(dir.join("space"))
        .arg("--runtime")
        .arg(&runtime)
        .output()
        .unwrap();
    ok(&out);
}

/// The text-classification fixture's card says `pipeline_tag: text-classification`: the demo
/// gets that task, examples to classify, and `lantern build` pins what the classifier reads.
#[test]
fn a_classifier_card_makes_a_classification_demo_that_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let dir = tmp.path().join("demo");
    let report = ok(&new(
        &mirror.url(),
        tmp.path(),
        &dir,
        &["--model", TEXT_CLASSIFICATION_BERT_REPO],
    ));
    assert!(
        report.contains("pipeline_tag text-classification"),
        "{report}"
    );
    let m = manifest(&dir);
    assert_eq!(m["task"].as_str(), Some("text-classification"));
    assert!(m["model"].get("files").is_none(), "{m:?}");
    assert!(m["examples"].as_array().unwrap().len() >= 2);
    let runtime = runtime(tmp.path());
    let out = lantern(&mirror.url(), &tmp.path().join("cache"))
        .arg("build")
        .arg(dir.join("demo.toml"))
        .arg("--out")
        .arg(dir.join("space"))
        .arg("--runtime")
        .arg(&runtime)
        .output()
        .unwrap();
    ok(&out);
    let demo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("space/demo.json")).unwrap()).unwrap();
    let mut files: Vec<&str> = demo["model"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
    assert_eq!(demo["task"], "text-classification");
    assert!(demo["examples"].as_array().unwrap().len() >= 2);
}

/// The vision fixtures' cards say `pipeline_tag: image-classification` / `object-detection`:
/// the demos get those tasks, and `lantern build` pins what the pipelines read.
#[test]
fn vision_cards_make_image_demos_that_build() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = start_fixture_mirror();
    let runtime = runtime(tmp.path());
    for (repo, task) in [
        (
            "lantern-fixtures/tiny-vit-classification",
            "image-classification",
        ),
        ("lantern-fixtures/tiny-detr-resnet", "object-detection"),
    ] {
        let dir = tmp.path().join(task);
        let report = ok(&new(&mirror.url(), tmp.path(), &dir, &["--model", repo]));
        assert!(report.contains(&format!("pipeline_tag {task}")), "{report}");
        let m = manifest(&dir);
        assert_eq!(m["task"].as_str(), Some(task));
        assert!(m["model"].get("files").is_none(), "{m:?}");
        let out = lantern(&mirror.url(), &tmp.path().join("cache"))
            .arg("build")
            .arg(dir.join("demo.toml"))
            .arg("--out")
            .arg(dir.join("space"))
            .arg("--runtime")
            .arg(&runtime)
            .output()
            .unwrap();
        ok(&out);
        let demo: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("space/demo.json")).unwrap()).unwrap();
        let mut files: Vec<&str> = demo["model"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "config.json",
                "model.safetensors",
                "preprocessor_config.json"
            ]
        );
        assert_eq!(demo["task"], task);
    }
}
