//! Fault injection and the request log.

use std::time::{Duration, Instant};

use lantern_mirror::{FaultKind, FaultSpec, MirrorConfig, testing};

use crate::common::{EMB, client, emb_dir, following_client, header, raw_request, sha256_file};

const TOKENIZER: &str = "tokenizer.json";

#[test]
fn drop_after_truncates_a_git_file_body() {
    let mirror = testing::start_fixture_mirror();
    let local = std::fs::read(emb_dir().join(TOKENIZER)).unwrap();
    let target =
        format!("/_faults/id=drop1,drop_after=100000,times=1/{EMB}/resolve/main/{TOKENIZER}");

    let cut = raw_request(mirror.addr(), "GET", &target, &[]);
    assert_eq!(cut.status, 200);
    assert_eq!(
        cut.header("content-length"),
        Some(local.len().to_string().as_str())
    );
    assert_eq!(
        cut.body.len(),
        100_000,
        "exactly N bytes, then the connection ends"
    );
    assert_eq!(cut.body, local[..100_000]);

    // `times=1`: the retry gets everything.
    let whole = raw_request(mirror.addr(), "GET", &target, &[]);
    assert_eq!(whole.body, local);

    let log = mirror.log("drop1");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].fault, Some(FaultKind::Drop));
    assert_eq!(log[0].bytes_sent, 100_000);
    assert_eq!(log[0].path, format!("/{EMB}/resolve/main/{TOKENIZER}"));
    assert_eq!(log[1].fault, None);
    assert_eq!(log[1].bytes_sent, local.len() as u64);
}

#[tokio::test]
async fn drop_after_reaches_lfs_content_through_the_redirect() {
    let mirror = testing::start_fixture_mirror();
    let spec: FaultSpec = "id=drop2,drop_after=1000000,times=1".parse().unwrap();
    let url = format!(
        "{}/{EMB}/resolve/main/model.safetensors",
        mirror.fault_url(&spec)
    );

    let r = following_client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.is_err(),
        "a truncated body is an error, not a clean end"
    );

    let r = following_client().get(&url).send().await.unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body)),
        sha256_file(&emb_dir().join("model.safetensors"))
    );

    let log = mirror.log("drop2");
    let summary: Vec<(u16, Option<FaultKind>)> = log.iter().map(|e| (e.status, e.fault)).collect();
    assert_eq!(
        summary,
        [
            (302, None),
            (200, Some(FaultKind::Drop)),
            (302, None),
            (200, None)
        ],
        "{log:?}"
    );
    assert!(
        log[1].path.starts_with("/_lfs/models/"),
        "the redirect keeps the fault prefix"
    );
    assert_eq!(log[1].bytes_sent, 1_000_000);
    assert_eq!(log[3].bytes_sent, body.len() as u64);
}

#[tokio::test]
async fn flip_changes_exactly_one_byte() {
    let mirror = testing::start_fixture_mirror();
    let local = std::fs::read(emb_dir().join(TOKENIZER)).unwrap();
    let url = format!(
        "{}/_faults/id=flip1,flip=70000/{EMB}/resolve/main/{TOKENIZER}",
        mirror.url()
    );

    let got = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.len(), local.len());
    let diffs: Vec<usize> = (0..local.len()).filter(|&i| got[i] != local[i]).collect();
    assert_eq!(diffs, [70_000]);
    assert_eq!(got[70_000], local[70_000] ^ 0x01);

    // The offset is absolute: inside a range it lands on the same file byte.
    let part = client()
        .get(&url)
        .header("Range", "bytes=69990-70009")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(part[10], local[70_000] ^ 0x01);
    assert_eq!(part[..10], local[69_990..70_000]);
    let untouched = client()
        .get(&url)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(untouched, local[..100]);

    let faults: Vec<_> = mirror.log("flip1").iter().map(|e| e.fault).collect();
    assert_eq!(faults, [Some(FaultKind::Flip), Some(FaultKind::Flip), None]);
}

#[tokio::test]
async fn status_faults_then_recovery() {
    let mirror = testing::start_fixture_mirror();
    let u = mirror.url();
    let file = format!("{EMB}/resolve/main/config.json");

    let url = format!("{u}/_faults/id=s500,status=500,times=1/{file}");
    let first = client().get(&url).send().await.unwrap();
    assert_eq!(first.status(), 500);
    assert_eq!(header(first.headers(), "access-control-allow-origin"), "*");
    let second = client().get(&url).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(
        second.bytes().await.unwrap(),
        std::fs::read(emb_dir().join("config.json")).unwrap()
    );

    let url = format!("{u}/_faults/id=s429,status=429,retry_after=3,times=2/{file}");
    for _ in 0..2 {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(header(r.headers(), "retry-after"), "3");
    }
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);

    // `on=api` leaves content alone; HEAD is not content under the default `on=content`.
    let api = format!("{u}/_faults/id=s503,status=503,on=api");
    let r = client()
        .get(format!("{api}/api/models/{EMB}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        client()
            .get(format!("{api}/{file}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let content = format!("{u}/_faults/id=s503b,status=503");
    assert_eq!(
        client()
            .head(format!("{content}/{file}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client()
            .get(format!("{content}/{file}"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );

    let log = mirror.log("s500");
    assert_eq!(
        (log[0].status, log[0].fault),
        (500, Some(FaultKind::Status))
    );
    assert_eq!((log[1].status, log[1].fault), (200, None));

    let bad = client()
        .get(format!("{u}/_faults/drop_after=1/{file}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a spec without id");
}

#[tokio::test]
async fn log_records_ranges_and_bytes_sent() {
    let mirror = testing::start_fixture_mirror();
    let base = format!("{}/_faults/id=log1/{EMB}/resolve/main", mirror.url());
    client()
        .get(format!("{base}/{TOKENIZER}"))
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    client()
        .head(format!("{base}/{TOKENIZER}"))
        .send()
        .await
        .unwrap();
    client()
        .get(format!("{base}/missing.json"))
        .send()
        .await
        .unwrap();

    let log = mirror.log("log1");
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].range.as_deref(), Some("bytes=0-99"));
    assert_eq!(
        (log[0].status, log[0].bytes_sent, log[0].fault),
        (206, 100, None)
    );
    assert_eq!(
        (log[1].method.as_str(), log[1].status, log[1].bytes_sent),
        ("HEAD", 200, 0)
    );
    assert_eq!(log[2].status, 404);

    // The same log over HTTP.
    let r = client()
        .get(format!("{}/_log/log1", mirror.url()))
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json, serde_json::to_value(&log).unwrap());
    assert_eq!(json[0]["range"], "bytes=0-99");
    assert_eq!(json[0]["fault"], serde_json::Value::Null);
    let none: serde_json::Value = client()
        .get(format!("{}/_log/never-used", mirror.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none, serde_json::json!([]));
}

#[tokio::test]
async fn delay_slows_each_chunk() {
    let mirror = testing::start_fixture_mirror();
    // tokenizer.json is 466 KB: 8 chunks of 64 KiB.
    let url = format!(
        "{}/_faults/id=slow,delay_ms=25/{EMB}/resolve/main/{TOKENIZER}",
        mirror.url()
    );
    let started = Instant::now();
    let body = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 466_247);
    assert!(started.elapsed() >= Duration::from_millis(8 * 25));
    assert_eq!(mirror.log("slow")[0].fault, Some(FaultKind::Delay));
}

#[tokio::test]
async fn default_fault_applies_without_a_prefix() {
    let mut config = MirrorConfig::new(testing::fixture_dir());
    config.default_fault = Some("id=dflt,status=503,times=1".parse().unwrap());
    let mirror = testing::start_with(config);
    let url = format!("{}/{EMB}/resolve/main/config.json", mirror.url());
    assert_eq!(client().get(&url).send().await.unwrap().status(), 503);
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    assert_eq!(mirror.log("dflt").len(), 2);
}
