//! File content: resolve, the LFS redirect, ranges, conditional requests, HEAD.

use lantern_mirror::testing;
use sha2::{Digest, Sha256};

use crate::common::{EMB, client, emb_dir, following_client, git_oid, header, sha256_file};

#[tokio::test]
async fn resolve_by_branch_and_by_commit_give_the_same_bytes() {
    let mirror = testing::start_fixture_mirror();
    let commit = mirror.commit_of(EMB).unwrap();
    let local = std::fs::read(emb_dir().join("config.json")).unwrap();
    let oid = git_oid(&emb_dir().join("config.json"));
    for rev in ["main", commit.as_str()] {
        let r = client()
            .get(format!("{}/{EMB}/resolve/{rev}/config.json", mirror.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(header(h, "etag"), format!("\"{oid}\""));
        assert_eq!(header(h, "x-repo-commit"), commit);
        assert_eq!(header(h, "content-type"), "application/json");
        assert_eq!(header(h, "accept-ranges"), "bytes");
        assert_eq!(header(h, "content-length"), local.len().to_string());
        assert_eq!(r.bytes().await.unwrap(), local);
    }
    let nested = client()
        .get(format!(
            "{}/{EMB}/resolve/main/1_Pooling/config.json",
            mirror.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        nested.bytes().await.unwrap(),
        std::fs::read(emb_dir().join("1_Pooling/config.json")).unwrap()
    );
}

#[tokio::test]
async fn lfs_files_redirect_with_linked_headers() {
    let mirror = testing::start_fixture_mirror();
    let commit = mirror.commit_of(EMB).unwrap();
    let path = emb_dir().join("model.safetensors");
    let size = std::fs::metadata(&path).unwrap().len();
    let sha = sha256_file(&path);
    let url = format!("{}/{EMB}/resolve/main/model.safetensors", mirror.url());

    for method in [reqwest::Method::HEAD, reqwest::Method::GET] {
        let r = client().request(method, &url).send().await.unwrap();
        assert_eq!(r.status(), 302);
        let h = r.headers();
        let location = header(h, "location");
        assert_eq!(location, format!("/_lfs/models/{EMB}/{sha}"));
        assert_eq!(header(h, "x-linked-etag"), format!("\"{sha}\""));
        assert_eq!(header(h, "x-linked-size"), size.to_string());
        assert_eq!(header(h, "x-repo-commit"), commit);
        let pointer =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n");
        let pointer_oid = {
            use sha1::Digest as _;
            let mut h = sha1::Sha1::new();
            h.update(format!("blob {}\0{pointer}", pointer.len()));
            hex::encode(h.finalize())
        };
        assert_eq!(header(h, "etag"), format!("\"{pointer_oid}\""));
        assert!(r.bytes().await.unwrap().is_empty());
    }

    let lfs_url = format!("{}/_lfs/models/{EMB}/{sha}", mirror.url());
    let head = client().head(&lfs_url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(header(head.headers(), "content-length"), size.to_string());
    assert_eq!(header(head.headers(), "etag"), format!("\"{sha}\""));
    assert_eq!(
        header(head.headers(), "content-type"),
        "application/octet-stream"
    );
    assert_eq!(header(head.headers(), "x-repo-commit"), commit);

    // Streamed through the redirect, as a downloader sees it.
    let mut r = following_client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = r.chunk().await.unwrap() {
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    assert_eq!(n, size);
    assert_eq!(hex::encode(hasher.finalize()), sha);
}

#[tokio::test]
async fn ranges_and_conditional_requests() {
    let mirror = testing::start_fixture_mirror();
    let st = emb_dir().join("model.safetensors");
    let sha = sha256_file(&st);
    let gguf = testing::fixture_dir()
        .join(testing::GGUF_REPO)
        .join(testing::GGUF_FILE);
    let cases = [
        (
            format!("{}/_lfs/models/{EMB}/{sha}", mirror.url()),
            st.clone(),
            sha.clone(),
        ),
        (
            format!("{}/{EMB}/resolve/main/tokenizer.json", mirror.url()),
            emb_dir().join("tokenizer.json"),
            git_oid(&emb_dir().join("tokenizer.json")),
        ),
    ];
    for (url, path, etag) in cases {
        let local = std::fs::read(&path).unwrap();
        let size = local.len();
        let get = |range: &'static str| {
            let url = url.clone();
            async move {
                client()
                    .get(&url)
                    .header("Range", range)
                    .send()
                    .await
                    .unwrap()
            }
        };

        let r = get("bytes=100-199").await;
        assert_eq!(r.status(), 206, "{url}");
        assert_eq!(
            header(r.headers(), "content-range"),
            format!("bytes 100-199/{size}")
        );
        assert_eq!(header(r.headers(), "content-length"), "100");
        assert_eq!(r.bytes().await.unwrap(), local[100..200]);

        let r = get("bytes=-16").await;
        assert_eq!(r.status(), 206);
        assert_eq!(
            header(r.headers(), "content-range"),
            format!("bytes {}-{}/{size}", size - 16, size - 1)
        );
        assert_eq!(r.bytes().await.unwrap(), local[size - 16..]);

        // A resume from the middle of a chunk to the end.
        let r = client()
            .get(&url)
            .header("Range", format!("bytes={}-", size - 70_000))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.bytes().await.unwrap(), local[size - 70_000..]);

        let r = client()
            .get(&url)
            .header("Range", format!("bytes={size}-"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 416);
        assert_eq!(
            header(r.headers(), "content-range"),
            format!("bytes */{size}")
        );

        let r = client()
            .get(&url)
            .header("Range", "bytes=0-1,4-5")
            .header("If-None-Match", "\"something-else\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "multi-range: the whole file");
        assert_eq!(r.bytes().await.unwrap().len(), size);

        let r = client()
            .get(&url)
            .header("If-None-Match", format!("\"{etag}\""))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(header(r.headers(), "etag"), format!("\"{etag}\""));
        assert!(r.bytes().await.unwrap().is_empty());
    }

    // The GGUF magic, read with a Range as a header probe does.
    let r = following_client()
        .get(format!(
            "{}/{}/resolve/main/{}",
            mirror.url(),
            testing::GGUF_REPO,
            testing::GGUF_FILE
        ))
        .header("Range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], b"GGUF");
    assert!(gguf.is_file());
}

#[tokio::test]
async fn head_has_the_headers_and_no_body() {
    let mirror = testing::start_fixture_mirror();
    let size = std::fs::metadata(emb_dir().join("vocab.txt"))
        .unwrap()
        .len();
    let r = client()
        .head(format!("{}/{EMB}/resolve/main/vocab.txt", mirror.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(r.headers(), "content-length"), size.to_string());
    assert_eq!(
        header(r.headers(), "content-type"),
        "text/plain; charset=utf-8"
    );
    assert!(r.headers().get("x-repo-commit").is_some());
    assert!(r.bytes().await.unwrap().is_empty());

    let r = client()
        .head(format!("{}/{EMB}/resolve/main/vocab.txt", mirror.url()))
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(header(r.headers(), "content-length"), "10");
}

#[tokio::test]
async fn a_nested_router_keeps_its_mount_point_in_urls() {
    let mirror = lantern_mirror::Mirror::new(lantern_mirror::MirrorConfig {
        page_size: 5,
        ..lantern_mirror::MirrorConfig::new(testing::fixture_dir())
    })
    .unwrap();
    let app = axum::Router::new().nest_service("/hub", mirror.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/hub", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let r = client()
        .get(format!("{base}/{EMB}/resolve/main/model.safetensors"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(header(r.headers(), "location").starts_with("/hub/_lfs/models/"));
    let r = following_client()
        .get(format!("{base}/{EMB}/resolve/main/model.safetensors"))
        .header("Range", "bytes=0-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);

    let r = client()
        .get(format!("{base}/api/models/{EMB}/tree/main?recursive=1"))
        .send()
        .await
        .unwrap();
    let link = header(r.headers(), "link");
    assert!(
        link.starts_with(&format!("<{base}/api/models/{EMB}/tree/main?")),
        "{link}"
    );
    server.abort();
}
