//! No request leaves the mirror root: hostile paths are sent byte for byte over a raw socket, so
//! no client library can normalise them first.

use std::path::Path;

use lantern_mirror::testing;

use crate::common::{EMB, Raw, emb_dir, raw_request};

fn assert_refused(r: &Raw, target: &str, secrets: &[&[u8]]) {
    assert!(
        r.status == 400 || r.status == 404,
        "{target}: status {} (body {:?})",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    for secret in secrets {
        assert!(
            !r.body.windows(secret.len()).any(|w| w == *secret),
            "{target} leaked a secret"
        );
    }
}

#[test]
fn traversal_variants_are_refused() {
    let mirror = testing::start_fixture_mirror();
    let passwd: &[u8] = b"root:";
    let r = format!("/{EMB}/resolve/main");
    let targets = [
        format!("{r}/../../../../../../etc/passwd"),
        format!("{r}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"),
        format!("{r}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd"),
        format!("{r}/1_Pooling%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd"),
        format!("{r}/..%5c..%5c..%5c..%5cetc%5cpasswd"),
        format!("{r}/..%5C..%5Cconfig.json"),
        format!("{r}//etc/passwd"),
        format!("{r}/%2Fetc%2Fpasswd"),
        format!("{r}/config.json%00.txt"),
        format!("{r}/%00"),
        format!("{r}/./config.json"),
        "//etc/passwd".to_owned(),
        "/../../../../etc/passwd".to_owned(),
        "/%2e%2e/%2e%2e/resolve/main/etc/passwd".to_owned(),
        "/lantern-fixtures/%2e%2e/resolve/main/lantern-fixtures/all-MiniLM-L6-v2/config.json"
            .to_owned(),
        "/lantern-fixtures/..%2F..%2F..%2Fetc/resolve/main/passwd".to_owned(),
        format!("/api/models/{EMB}/tree/main/..%2F..%2F.."),
        format!("/api/models/{EMB}/tree/main/../../.."),
        "/api/models/..%2F..%2F../x/tree/main".to_owned(),
        "/_lfs/models/lantern-fixtures/..%2F..%2Fetc/passwd".to_owned(),
        format!("/_faults/id=t/{r}/../../../../etc/passwd"),
        format!("/_faults/..%2F..%2Fetc%2Fpasswd{r}/config.json"),
        "/_log/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/etc/passwd".to_owned(),
        format!("{r}/%ff%fe"),
    ];
    for target in &targets {
        let resp = raw_request(mirror.addr(), "GET", target, &[]);
        if target.starts_with("/_log/") {
            // An unknown log id is an empty log, never a file.
            assert_eq!(resp.body, b"[]", "{target}");
            continue;
        }
        assert_refused(&resp, target, &[passwd]);
    }
    // The same server still serves the real file.
    let ok = raw_request(mirror.addr(), "GET", &format!("{r}/config.json"), &[]);
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body,
        std::fs::read(emb_dir().join("config.json")).unwrap()
    );
}

fn copy_small_repo(to: &Path) {
    for f in [
        "config.json",
        "tokenizer_config.json",
        "1_Pooling/config.json",
        ".gitattributes",
    ] {
        let dest = to.join(f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(emb_dir().join(f), dest).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn symlinks_are_never_followed() {
    use std::os::unix::fs::symlink;

    let outside = tempfile::tempdir().unwrap();
    let secret: &[u8] = b"TOP-SECRET-OUTSIDE-THE-ROOT";
    std::fs::write(outside.path().join("secret.txt"), secret).unwrap();
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("acme/small");
    copy_small_repo(&repo);
    std::fs::write(root.path().join("acme/inside-secret.txt"), b"INSIDE-SECRET").unwrap();
    symlink(outside.path().join("secret.txt"), repo.join("escape.txt")).unwrap();
    symlink(outside.path(), repo.join("outdir")).unwrap();
    symlink(repo.join("config.json"), repo.join("alias.json")).unwrap();
    symlink(
        root.path().join("acme/inside-secret.txt"),
        repo.join("inside.txt"),
    )
    .unwrap();
    symlink(repo.join("1_Pooling"), repo.join("pooling-link")).unwrap();
    symlink(&repo, root.path().join("acme/linked-repo")).unwrap();
    symlink(outside.path(), root.path().join("evil")).unwrap();
    std::fs::create_dir_all(outside.path().join("repo")).unwrap();
    std::fs::write(outside.path().join("repo/secret.txt"), secret).unwrap();

    let mirror = testing::start_mirror(root.path());
    let secrets: &[&[u8]] = &[secret, b"INSIDE-SECRET"];
    for target in [
        "/acme/small/resolve/main/escape.txt",
        "/acme/small/resolve/main/outdir/secret.txt",
        "/acme/small/resolve/main/alias.json",
        "/acme/small/resolve/main/inside.txt",
        "/acme/small/resolve/main/pooling-link/config.json",
        "/acme/linked-repo/resolve/main/config.json",
        "/evil/repo/resolve/main/secret.txt",
        "/api/models/acme/linked-repo",
        "/api/models/evil/repo/tree/main",
        "/api/models/acme/small/tree/main/outdir",
        "/api/models/acme/small/tree/main/pooling-link",
    ] {
        assert_refused(
            &raw_request(mirror.addr(), "GET", target, &[]),
            target,
            secrets,
        );
    }

    let listing = raw_request(
        mirror.addr(),
        "GET",
        "/api/models/acme/small/tree/main?recursive=1",
        &[],
    );
    assert_eq!(listing.status, 200);
    let entries: serde_json::Value = serde_json::from_slice(&listing.body).unwrap();
    let paths: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            ".gitattributes",
            "1_Pooling",
            "1_Pooling/config.json",
            "config.json",
            "tokenizer_config.json"
        ]
    );
    let info = raw_request(mirror.addr(), "GET", "/api/models/acme/small", &[]);
    assert!(!String::from_utf8_lossy(&info.body).contains("escape"));
    let ok = raw_request(
        mirror.addr(),
        "GET",
        "/acme/small/resolve/main/config.json",
        &[],
    );
    assert_eq!(ok.status, 200);
}
