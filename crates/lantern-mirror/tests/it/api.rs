//! The JSON API: repo info, the tree listing and its pages, error codes, CORS.

use std::process::Command;

use lantern_mirror::{MirrorConfig, testing};
use serde_json::Value;

use crate::common::{EMB, client, emb_dir, get_json, git_oid, header, sha256_file};

#[tokio::test]
async fn tree_pages_follow_link_headers() {
    let mut config = MirrorConfig::new(testing::fixture_dir());
    config.page_size = 3;
    let mirror = testing::start_with(config);

    let mut url = format!("{}/api/models/{EMB}/tree/main?recursive=true", mirror.url());
    let mut entries: Vec<Value> = Vec::new();
    let mut pages = 0;
    loop {
        let (r, h, page) = get_json(&url).await;
        assert_eq!(r, 200);
        let page = page.as_array().unwrap().clone();
        assert!(page.len() <= 3);
        entries.extend(page);
        pages += 1;
        let Some(link) = h.get("link") else {
            break;
        };
        let link = link.to_str().unwrap();
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        url = link[1..link.find('>').unwrap()].to_owned();
        assert!(url.starts_with(&mirror.url()), "absolute next URL: {url}");
        assert!(url.contains("recursive=true"), "query kept: {url}");
        assert!(pages < 20, "pagination does not end");
    }
    assert_eq!(pages, 5);

    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "sorted, no duplicates across pages");
    assert_eq!(paths.len(), 14, "13 files and 1 folder: {paths:?}");
    assert!(paths.contains(&".gitattributes"));

    let dir = emb_dir();
    let by_path = |p: &str| entries.iter().find(|e| e["path"] == p).unwrap().clone();
    let pooling = by_path("1_Pooling");
    assert_eq!(pooling["type"], "directory");
    assert_eq!(pooling["size"], 0);
    assert!(lantern_core::is_commit_hash(
        pooling["oid"].as_str().unwrap()
    ));

    let st = by_path("model.safetensors");
    let size = std::fs::metadata(dir.join("model.safetensors"))
        .unwrap()
        .len();
    let sha = sha256_file(&dir.join("model.safetensors"));
    assert_eq!(st["type"], "file");
    assert_eq!(st["size"], size);
    assert_eq!(st["lfs"]["oid"], sha.as_str());
    assert_eq!(st["lfs"]["size"], size);
    let pointer =
        format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n");
    assert_eq!(st["lfs"]["pointerSize"], pointer.len());

    let config = by_path("config.json");
    let oid = git_oid(&dir.join("config.json"));
    assert_eq!(config["oid"], oid.as_str());
    assert!(config.get("lfs").is_none());
    if let Ok(out) = Command::new("git")
        .arg("hash-object")
        .arg(dir.join("config.json"))
        .output()
    {
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), oid);
    }
    for e in &entries {
        if e["type"] == "file" && e.get("lfs").is_none() {
            let p = e["path"].as_str().unwrap();
            assert_eq!(e["oid"], git_oid(&dir.join(p)).as_str(), "{p}");
        }
    }
}

#[tokio::test]
async fn tree_lists_folders_and_refuses_missing_ones() {
    let mirror = testing::start_fixture_mirror();
    let base = format!("{}/api/models/{EMB}/tree/main", mirror.url());

    let (r, h, top) = get_json(&base).await;
    assert_eq!(r, 200);
    assert!(h.get("link").is_none());
    let top: Vec<&str> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        top.contains(&"1_Pooling") && !top.contains(&"1_Pooling/config.json"),
        "{top:?}"
    );

    for sub in ["1_Pooling", "1_Pooling/", "1_Pooling?recursive=True"] {
        let (_, _, list) = get_json(&format!("{base}/{sub}")).await;
        assert_eq!(list[0]["path"], "1_Pooling/config.json", "{sub}");
        assert_eq!(list.as_array().unwrap().len(), 1);
    }
    // huggingface_hub encodes the whole path as one segment.
    let commit = mirror.commit_of(EMB).unwrap();
    let (r, _, _) = get_json(&format!(
        "{}/api/models/{EMB}/tree/{commit}/1_Pooling",
        mirror.url()
    ))
    .await;
    assert_eq!(r, 200);

    for missing in ["nope", "config.json", "1_Pooling/config.json"] {
        let (r, h, body) = get_json(&format!("{base}/{missing}")).await;
        assert_eq!(r, 404, "{missing}");
        assert_eq!(header(&h, "x-error-code"), "EntryNotFound");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn revision_info_is_stable_across_instances() {
    let a = testing::start_fixture_mirror();
    let b = testing::start_fixture_mirror();
    let (ra, _, info_a) = get_json(&format!("{}/api/models/{EMB}/revision/main", a.url())).await;
    let (_, _, info_b) = get_json(&format!("{}/api/models/{EMB}", b.url())).await;
    assert_eq!(ra, 200);
    let sha = info_a["sha"].as_str().unwrap();
    assert!(lantern_core::is_commit_hash(sha), "{sha}");
    assert_eq!(info_b["sha"], sha);
    assert_eq!(a.commit_of(EMB).as_deref(), Some(sha));
    assert_eq!(info_a["id"], EMB);
    assert_eq!(info_a["modelId"], EMB);
    assert_eq!(info_a["private"], false);
    assert!(info_a["lastModified"].as_str().unwrap().ends_with('Z'));

    let (r, _, by_commit) = get_json(&format!("{}/api/models/{EMB}/revision/{sha}", a.url())).await;
    assert_eq!(r, 200);
    assert_eq!(by_commit["sha"], sha);

    let siblings: Vec<&str> = info_a["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rfilename"].as_str().unwrap())
        .collect();
    let mut sorted = siblings.clone();
    sorted.sort();
    assert_eq!(siblings, sorted);
    assert_eq!(siblings.len(), 13);
    assert!(siblings.contains(&"1_Pooling/config.json") && siblings.contains(&".gitattributes"));

    // `files_metadata=True` in huggingface_hub.
    let (_, _, blobs) = get_json(&format!("{}/api/models/{EMB}?blobs=True", a.url())).await;
    let st = blobs["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rfilename"] == "model.safetensors")
        .unwrap();
    assert_eq!(
        st["lfs"]["sha256"],
        sha256_file(&emb_dir().join("model.safetensors")).as_str()
    );

    // The GGUF repo has no .gitattributes: its 98 MB file is LFS by size.
    let (_, _, gguf) = get_json(&format!(
        "{}/api/models/{}/tree/main",
        a.url(),
        testing::GGUF_REPO
    ))
    .await;
    assert_eq!(gguf[0]["path"], testing::GGUF_FILE);
    assert!(gguf[0]["lfs"]["oid"].is_string());
}

#[tokio::test]
async fn errors_carry_hub_codes() {
    let mirror = testing::start_fixture_mirror();
    let u = mirror.url();
    let cases = [
        (
            format!("{u}/api/models/lantern-fixtures/missing"),
            "RepoNotFound",
        ),
        (format!("{u}/api/datasets/{EMB}"), "RepoNotFound"),
        (
            format!("{u}/lantern-fixtures/missing/resolve/main/config.json"),
            "RepoNotFound",
        ),
        (
            format!("{u}/api/models/{EMB}/revision/v1.0"),
            "RevisionNotFound",
        ),
        (
            format!("{u}/api/models/{EMB}/revision/refs%2Fpr%2F1"),
            "RevisionNotFound",
        ),
        (format!("{u}/api/models/{EMB}/tree/dev"), "RevisionNotFound"),
        (
            format!("{u}/{EMB}/resolve/refs%2Fpr%2F1/config.json"),
            "RevisionNotFound",
        ),
        (
            format!("{u}/{EMB}/resolve/{}/config.json", "0".repeat(40)),
            "RevisionNotFound",
        ),
        (
            format!("{u}/{EMB}/resolve/main/missing.json"),
            "EntryNotFound",
        ),
        (format!("{u}/{EMB}/resolve/main/1_Pooling"), "EntryNotFound"),
        (
            format!("{u}/_lfs/models/{EMB}/{}", "a".repeat(64)),
            "EntryNotFound",
        ),
    ];
    for (url, code) in cases {
        let (r, h, body) = get_json(&url).await;
        assert_eq!(r, 404, "{url}");
        assert_eq!(header(&h, "x-error-code"), code, "{url}");
        assert!(!header(&h, "x-error-message").is_empty());
        assert!(body["error"].is_string(), "{url}");
    }
    let r = client()
        .delete(format!("{u}/{EMB}/resolve/main/config.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn cors_on_every_response_and_preflight() {
    let mirror = testing::start_fixture_mirror();
    let u = mirror.url();
    for url in [
        format!("{u}/api/models/{EMB}"),
        format!("{u}/{EMB}/resolve/main/config.json"),
        format!("{u}/{EMB}/resolve/main/model.safetensors"),
        format!("{u}/{EMB}/resolve/main/missing"),
        format!("{u}/nothing-here"),
    ] {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(
            header(r.headers(), "access-control-allow-origin"),
            "*",
            "{url}"
        );
        assert_eq!(
            header(r.headers(), "cross-origin-resource-policy"),
            "cross-origin"
        );
        let exposed = header(r.headers(), "access-control-expose-headers");
        for h in [
            "X-Repo-Commit",
            "X-Linked-Etag",
            "X-Linked-Size",
            "ETag",
            "Content-Range",
            "Link",
            "Location",
        ] {
            assert!(exposed.contains(h), "{h} not exposed");
        }
        assert!(r.headers().get("cache-control").is_none());
    }

    let r = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{u}/{EMB}/resolve/main/model.safetensors"),
        )
        .header("Origin", "http://example.com")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "range")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(header(r.headers(), "access-control-allow-origin"), "*");
    assert!(header(r.headers(), "access-control-allow-methods").contains("HEAD"));
    assert!(header(r.headers(), "access-control-allow-headers").contains("Range"));
    assert!(
        header(r.headers(), "access-control-max-age")
            .parse::<u64>()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn serves_datasets_and_spaces() {
    let root = tempfile::tempdir().unwrap();
    for kind in ["datasets", "spaces"] {
        let dir = root.path().join(kind).join("acme/things");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("data.txt"), format!("{kind}\n")).unwrap();
    }
    // A model repo with the same id must not be confused with them.
    std::fs::create_dir_all(root.path().join("acme/things")).unwrap();
    std::fs::write(root.path().join("acme/things/model.txt"), b"model\n").unwrap();
    std::fs::create_dir_all(root.path().join(".stamps/x")).unwrap();

    let mirror = testing::start_mirror(root.path());
    let u = mirror.url();
    for kind in ["datasets", "spaces"] {
        let (r, _, info) = get_json(&format!("{u}/api/{kind}/acme/things")).await;
        assert_eq!(r, 200);
        assert_eq!(info["siblings"][0]["rfilename"], "data.txt");
        assert!(info.get("modelId").is_none());
        let r = client()
            .get(format!("{u}/{kind}/acme/things/resolve/main/data.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(r.headers(), "content-type"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(r.text().await.unwrap(), format!("{kind}\n"));
        assert!(mirror.commit_of(&format!("{kind}/acme/things")).is_some());
    }
    let r = client()
        .get(format!("{u}/acme/things/resolve/main/model.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "model\n");
    let r = client()
        .get(format!("{u}/api/models/.stamps/x"))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 400 || r.status() == 404);
}

/// The Whisper fixture has the Hub's `openai/whisper-*` file list, with the weights (and the
/// speech samples) served as LFS files like there, and the audio is the pinned recording.
#[tokio::test]
async fn whisper_fixtures_have_the_hub_layout() {
    let mirror = testing::start_fixture_mirror();
    let tree = |repo: &str| format!("{}/api/models/{repo}/tree/main", mirror.url());

    let (status, _, entries) = get_json(&tree(testing::WHISPER_TINY_EN_REPO)).await;
    assert_eq!(status, 200);
    let entries = entries.as_array().unwrap().clone();
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            ".gitattributes",
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "preprocessor_config.json",
            "tokenizer.json",
        ]
    );
    for e in &entries {
        let lfs = e.get("lfs").is_some();
        assert_eq!(lfs, e["path"] == "model.safetensors", "{e}");
    }

    let (status, _, entries) = get_json(&tree(testing::SPEECH_SAMPLES_REPO)).await;
    assert_eq!(status, 200);
    let sha_of = |name: &str| {
        let e = entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == name)
            .unwrap_or_else(|| panic!("no {name} in {entries}"));
        e["lfs"]["oid"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        sha_of(testing::SPEECH_BECKETT_FILE),
        testing::SPEECH_BECKETT_SHA256
    );
    assert_eq!(
        sha_of(testing::SPEECH_TWO_CITIES_FILE),
        testing::SPEECH_TWO_CITIES_SHA256
    );
}
