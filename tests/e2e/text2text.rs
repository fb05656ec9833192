//! The translation and summarization demos, built by `lantern build` and served by `lantern
//! serve`, in headless Chromium against the mirror with the tiny random encoder-decoders (Marian,
//! BART at distilbart-cnn's settings, T5 v1.0 and Flan-T5 styles): the text and token ids the page
//! shows equal `lantern run translation|summarization --json`'s for the same input and options
//! (greedy and 4 beams), with threads and without, and on WebGPU (SwiftShader, forced with
//! `?backend=webgpu`); the output streams before it is final; the language pair is shown; Cancel
//! stops a generation between two decoder steps, and the page runs again afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lantern_e2e::*;

const MARIAN: &str = "lantern-fixtures/tiny-marian-en-de";
const BART: &str = "lantern-fixtures/tiny-bart-cnn";
const T5: &str = "lantern-fixtures/tiny-t5";
const FLAN_T5: &str = "lantern-fixtures/tiny-flan-t5";

const TRANSLATE: &str = "The weather is nice today, and we are going for a walk.";
const ARTICLE: &str = "The tower is 324 metres tall, about the same height as an 81-storey \
building, and the tallest structure in Paris. Its base is square, measuring 125 metres on each \
side. During its construction, the Eiffel Tower surpassed the Washington Monument to become the \
tallest man-made structure in the world.";

/// New tokens per answer: enough to see beam search and the length rules at work, few enough
/// for SwiftShader (every decoder step of every beam is a few dispatches).
const MAX_TOKENS: usize = 24;

/// SwiftShader takes seconds where the CPU takes milliseconds.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// How a case runs the page: cross-origin isolated (threads) or not, and the backend forced.
#[derive(Clone, Copy)]
struct Setup {
    isolation: bool,
    webgpu: bool,
    /// The `backend` hook wanted: exact, or `cpu threads>1` for the threaded build's pool.
    backend: &'static str,
}

const THREADS: Setup = Setup {
    isolation: true,
    webgpu: false,
    backend: "cpu threads>1",
};
const NO_THREADS: Setup = Setup {
    isolation: false,
    webgpu: false,
    backend: "cpu threads=1",
};
const WEBGPU: Setup = Setup {
    isolation: true,
    webgpu: true,
    backend: "webgpu threads=1",
};

fn backend_is(shown: &str, want: &str) -> bool {
    match want {
        "cpu threads>1" => shown.starts_with("cpu threads=") && shown != "cpu threads=1",
        _ => shown == want,
    }
}

/// What a run asks for: the page's controls and the CLI's flags alike.
#[derive(Clone, Copy)]
struct Ask<'a> {
    task: &'a str,
    model: &'a str,
    text: &'a str,
    num_beams: usize,
    max_tokens: usize,
    /// T5: the task key chosen on the page (`--task-params`).
    task_params: Option<&'a str>,
}

/// The text, the token ids, and the input and generated token counts.
#[derive(Debug, PartialEq)]
struct Answer {
    text: String,
    tokens: Vec<u64>,
    input_tokens: u64,
    generated_tokens: u64,
}

/// `lantern run TASK --model M --input TEXT --num-beams B --max-tokens N [--task-params K]
/// --json`.
fn native(ask: Ask<'_>, mirror: &str) -> Answer {
    let beams = ask.num_beams.to_string();
    let max = ask.max_tokens.to_string();
    let mut args = vec![
        "run",
        ask.task,
        "--model",
        ask.model,
        "--input",
        ask.text,
        "--num-beams",
        &beams,
        "--max-tokens",
        &max,
    ];
    if let Some(k) = ask.task_params {
        args.extend(["--task-params", k]);
    }
    let v = lantern_json(&args, mirror);
    Answer {
        text: v["text"].as_str().unwrap().to_owned(),
        tokens: v["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect(),
        input_tokens: v["input_tokens"].as_u64().unwrap(),
        generated_tokens: v["generated_tokens"].as_u64().unwrap(),
    }
}

/// Records every state of the `partial` hook (its `data-tokens` and text) from now on, in
/// `window.__partials`: a tiny model streams faster than WebDriver polls.
async fn watch_partials(b: &Browser) {
    b.run(
        "window.__partials = [];\
         const seen = () => {\
           const p = document.querySelector('[data-testid=partial]');\
           if (p) window.__partials.push([p.getAttribute('data-tokens'), p.textContent]);\
         };\
         window.__partialObserver && window.__partialObserver.disconnect();\
         window.__partialObserver = new MutationObserver(seen);\
         window.__partialObserver.observe(document.body,\
           {subtree: true, childList: true, characterData: true, attributes: true});",
    )
    .await;
}

/// The `(tokens, text)` states of `partial` recorded since [`watch_partials`].
async fn partials(b: &Browser) -> Vec<(usize, String)> {
    let v = b.run("return window.__partials;").await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or("0").parse().unwrap(),
                p[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Types the text and the options, presses Run, and reads the final answer from the hooks.
async fn page_run(b: &Browser, ask: Ask<'_>, timeout: Duration) -> Answer {
    b.type_into("source", ask.text).await;
    b.type_into("num-beams", &ask.num_beams.to_string()).await;
    b.type_into("max-tokens", &ask.max_tokens.to_string()).await;
    if let Some(k) = ask.task_params {
        b.find("task-params")
            .await
            .select_by_value(k)
            .await
            .unwrap();
    }
    watch_partials(b).await;
    // A stale answer must not be read as this one's: the page replaces the element.
    b.run(
        "const o = document.querySelector('[data-testid=output]');\
         if (o) o.setAttribute('data-stale', '1');",
    )
    .await;
    b.click("run").await;
    let out = loop {
        let out = b.wait_for("output", timeout, |_| true).await;
        // (An element replaced meanwhile is an error here: look again.)
        if let Ok(None) = out.attr("data-stale").await {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The exact text (WebDriver's text is the rendered one, whitespace normalised).
    let text = b
        .run("return document.querySelector('[data-testid=output]').textContent;")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let attr = |name: &'static str| {
        let out = out.clone();
        async move { out.attr(name).await.unwrap().unwrap() }
    };
    let ids = attr("data-tokens").await;
    Answer {
        text,
        tokens: ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect(),
        input_tokens: attr("data-input-tokens").await.parse().unwrap(),
        generated_tokens: attr("data-generated-tokens").await.parse().unwrap(),
    }
}

/// Opens a Space of `demo` and loads the model.
async fn open(demo: &str, mirror: &str, setup: Setup) -> (tempfile::TempDir, Server, Browser) {
    let space = build_space(demo, mirror);
    let server = Server::start(space.path(), setup.isolation).await;
    let b = Browser::start().await;
    let query = if setup.webgpu { "?backend=webgpu" } else { "" };
    b.open(&format!("{}{query}", server.url)).await;
    // Nothing can be typed or run before the model is there.
    assert!(!b.is_enabled("run").await && !b.is_enabled("source").await);
    assert!(!b.is_enabled("num-beams").await && !b.is_enabled("max-tokens").await);
    b.click("load").await;
    b.wait_ready().await;
    let shown = b.text("backend").await;
    assert!(
        backend_is(&shown, setup.backend),
        "{shown}, expected {}",
        setup.backend
    );
    (space, server, b)
}

/// Greedy, then 4 beams: the page's answer equals the CLI's, it streamed first, and the stats
/// name the backend; summarization shows the compression ratio.
async fn equals_the_cli(
    demo: &str,
    model: &str,
    task: &str,
    text: &str,
    setup: Setup,
    task_params: Option<&str>,
) {
    let mirror = start_fixture_mirror();
    let (_space, _server, b) = open(demo, &mirror.url(), setup).await;
    let timeout = if setup.webgpu {
        ANSWER_TIMEOUT
    } else {
        LOAD_TIMEOUT
    };
    for num_beams in [1, 4] {
        let ask = Ask {
            task,
            model,
            text,
            num_beams,
            max_tokens: MAX_TOKENS,
            task_params,
        };
        let want = native(ask, &mirror.url());
        let got = page_run(&b, ask, timeout).await;
        assert_eq!(
            got, want,
            "{task} {model}, {num_beams} beam(s), {}",
            setup.backend
        );
        let streamed = partials(&b).await;
        assert!(
            streamed.iter().any(|(n, _)| *n > 0),
            "no partial output streamed: {streamed:?}"
        );
        let stats = b.find("stats").await;
        let backend = stats.attr("data-backend").await.unwrap().unwrap();
        assert_eq!(Some(backend.as_str()), setup.backend.split(' ').next());
        let tok_s: f64 = stats
            .attr("data-tok-s")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert!(tok_s > 0.0, "{tok_s}");
        if task == "summarization" {
            let ratio: f64 = stats
                .attr("data-compression")
                .await
                .unwrap()
                .unwrap()
                .parse()
                .unwrap();
            let expected = want.input_tokens as f64 / want.generated_tokens.max(1) as f64;
            assert!((ratio - expected).abs() < 1e-4, "{ratio} vs {expected}");
        }
        eprintln!(
            "{task} ({model}, {num_beams} beam(s), {}): {} tokens at {tok_s:.1} tok/s: {:?}",
            setup.backend, got.generated_tokens, got.text
        );
    }
    let shown = b.text("backend").await;
    assert!(backend_is(&shown, setup.backend), "no fallback: {shown}");
    let name: String = format!("{task}-{}", setup.backend)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    b.screenshot(&format!("{name}.png")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn translation_equals_the_cli_with_threads() {
    equals_the_cli(
        "tests/demos/translation.toml",
        MARIAN,
        "translation",
        TRANSLATE,
        THREADS,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn translation_equals_the_cli_without_threads() {
    equals_the_cli(
        "tests/demos/translation.toml",
        MARIAN,
        "translation",
        TRANSLATE,
        NO_THREADS,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn translation_on_webgpu_equals_the_cli() {
    equals_the_cli(
        "tests/demos/translation.toml",
        MARIAN,
        "translation",
        TRANSLATE,
        WEBGPU,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn summarization_equals_the_cli_with_threads() {
    equals_the_cli(
        "tests/demos/summarization.toml",
        BART,
        "summarization",
        ARTICLE,
        THREADS,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn summarization_equals_the_cli_without_threads() {
    equals_the_cli(
        "tests/demos/summarization.toml",
        BART,
        "summarization",
        ARTICLE,
        NO_THREADS,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn summarization_on_webgpu_equals_the_cli() {
    equals_the_cli(
        "tests/demos/summarization.toml",
        BART,
        "summarization",
        ARTICLE,
        WEBGPU,
        None,
    )
    .await;
}

/// T5 v1.0 translating (its `translate English to German: ` prefix, from the task key the page
/// offers), and the Flan-T5 style summarizing.
#[tokio::test(flavor = "multi_thread")]
async fn t5_translation_and_flan_t5_summarization_equal_the_cli() {
    equals_the_cli(
        "tests/demos/t5-translation.toml",
        T5,
        "translation",
        TRANSLATE,
        NO_THREADS,
        Some("translation_en_to_fr"),
    )
    .await;
    equals_the_cli(
        "tests/demos/flan-t5-summarization.toml",
        FLAN_T5,
        "summarization",
        ARTICLE,
        THREADS,
        None,
    )
    .await;
}

/// The language pair the page shows: from the Marian model's name, and from T5's task key
/// (which the page's task choice changes).
#[tokio::test(flavor = "multi_thread")]
async fn the_language_pair_is_shown() {
    let mirror = start_fixture_mirror();
    let space = build_space("tests/demos/translation.toml", &mirror.url());
    let server = Server::start(space.path(), false).await;
    let b = Browser::start_with_webgpu(false).await;
    b.open(&server.url).await;
    // Before the model is loaded: demo.json says it.
    assert_eq!(
        b.attr("languages", "data-source").await.as_deref(),
        Some("en")
    );
    assert_eq!(
        b.attr("languages", "data-target").await.as_deref(),
        Some("de")
    );
    let text = b.text("languages").await;
    assert!(text.contains("English → German"), "{text}");
    drop(b);
    drop(server);

    let space = build_space("tests/demos/t5-translation.toml", &mirror.url());
    let demo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(space.path().join("demo.json")).unwrap()).unwrap();
    let keys = demo["text2text"]["task_params"].as_array().cloned();
    let server = Server::start(space.path(), false).await;
    let b = Browser::start_with_webgpu(false).await;
    b.open(&server.url).await;
    assert_eq!(
        b.attr("languages", "data-source").await.as_deref(),
        Some("en")
    );
    assert_eq!(
        b.attr("languages", "data-target").await.as_deref(),
        Some("de")
    );
    eprintln!("T5 fixture's translation keys: {keys:?}");
    // Another of T5's tasks: the pair follows it.
    b.click("load").await;
    b.wait_ready().await;
    b.find("task-params")
        .await
        .select_by_value("translation_en_to_ro")
        .await
        .unwrap();
    b.wait_for("languages", STEP_TIMEOUT, |p| p.text.contains("Romanian"))
        .await;
    assert_eq!(
        b.attr("languages", "data-target").await.as_deref(),
        Some("ro")
    );
}

/// Cancel between two decoder steps: what streamed stays, no answer is shown, and the next run
/// gives the CLI's answer. Flan-T5 (relative positions: no length limit) with 16 beams and a
/// minimum length that holds the end back: thousands of decoder steps, so Cancel lands in the
/// middle.
#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_a_generation_and_the_page_runs_again() {
    let mirror = start_fixture_mirror();
    let (_space, _server, b) = open(
        "tests/demos/flan-t5-summarization.toml",
        &mirror.url(),
        NO_THREADS,
    )
    .await;
    b.type_into("source", ARTICLE).await;
    b.type_into("num-beams", "16").await;
    b.type_into("min-length", "400").await;
    b.type_into("max-tokens", "500").await;
    watch_partials(&b).await;
    b.click("run").await;
    let deadline = std::time::Instant::now() + LOAD_TIMEOUT;
    loop {
        let tokens = b
            .run(
                "const p = document.querySelector('[data-testid=partial]');\
                 return p ? Number(p.getAttribute('data-tokens')) : 0;",
            )
            .await;
        if tokens.as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "nothing streamed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.click("cancel").await;
    let stopped = b.wait_for("cancelled", STEP_TIMEOUT, |_| true).await;
    let why = stopped.text().await.unwrap();
    eprintln!("cancelled: {why}");
    assert!(why.starts_with("Stopped after "), "{why}");
    let tokens: usize = why
        .trim_start_matches("Stopped after ")
        .trim_end_matches(" tokens")
        .parse()
        .unwrap();
    assert!((1..400).contains(&tokens), "{why}");
    assert!(
        b.client
            .find(fantoccini::Locator::Css("[data-testid=output]"))
            .await
            .is_err(),
        "a cancelled run shows no output"
    );
    let error = b
        .client
        .find(fantoccini::Locator::Css("[data-testid=error]"))
        .await;
    assert!(error.is_err(), "Cancel is not an error");
    assert!(b.is_enabled("run").await);
    // Again, to the end: the CLI's answer.
    b.type_into("min-length", "").await;
    let ask = Ask {
        task: "summarization",
        model: FLAN_T5,
        text: ARTICLE,
        num_beams: 4,
        max_tokens: MAX_TOKENS,
        task_params: None,
    };
    let want = native(ask, &mirror.url());
    let got = page_run(&b, ask, LOAD_TIMEOUT).await;
    assert_eq!(got, want);
}

/// `lantern new` picks the task from the card and `lantern build` writes the language pair and
/// T5's task keys into `demo.json` (no browser: the files the page starts from).
#[test]
fn lantern_new_and_build_pick_the_task_and_the_languages() {
    let mirror = start_fixture_mirror();
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let lantern = |args: &[&str]| {
        let out = std::process::Command::new(lantern_bin())
            .args(args)
            .current_dir(work.path())
            .env("HF_ENDPOINT", mirror.url())
            .env("HF_HUB_CACHE", cache.path())
            .env("LANTERN_RUNTIME", runtime_dir())
            .env_remove("HF_TOKEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "lantern {args:?} failed:\n{stderr}");
        stderr
    };
    let demo_json = |dir: &str| -> serde_json::Value {
        let path = work.path().join(dir).join("space/demo.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    for (dir, repo, extra, task) in [
        ("marian", MARIAN, None, "translation"),
        ("bart", BART, None, "summarization"),
        ("t5", T5, Some("translation"), "translation"),
    ] {
        let mut args = vec!["new", dir, "--model", repo];
        if let Some(t) = extra {
            args.extend(["--task", t]);
        }
        let report = lantern(&args);
        let manifest = std::fs::read_to_string(work.path().join(dir).join("demo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("task = \"{task}\"")),
            "{report}\n{manifest}"
        );
        let toml = format!("{dir}/demo.toml");
        let out = format!("{dir}/space");
        lantern(&["build", &toml, "--out", &out, "--endpoint", &mirror.url()]);
    }
    let marian = demo_json("marian");
    assert_eq!(marian["task"], "translation");
    assert_eq!(marian["text2text"]["source_language"], "en");
    assert_eq!(marian["text2text"]["target_language"], "de");
    assert!(
        marian["text2text"]["languages_from"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{marian}"
    );
    let bart = demo_json("bart");
    assert_eq!(bart["task"], "summarization");
    assert!(bart.get("text2text").is_none(), "{bart}");
    let t5 = demo_json("t5");
    assert_eq!(
        t5["text2text"]["task_params"],
        serde_json::json!([
            "translation_en_to_de",
            "translation_en_to_fr",
            "translation_en_to_ro"
        ])
    );
    assert_eq!(t5["text2text"]["target_language"], "de");
}

/// `lantern new` on models whose card says only `text2text-generation` (as the Hub tags T5,
/// BART and Marian alike): config.json's `task_specific_params` decides (BART: summarization
/// only), then the name (`…-en-de`); a T5 with both kinds of keys and no telling name is
/// translation. Copies of the fixtures, re-tagged, in a mirror of their own.
#[test]
fn lantern_new_decides_a_text2text_generation_model() {
    let root = tempfile::tempdir().unwrap();
    let retag = |from: &str, to: &str| {
        let src = fixture_dir().join(from);
        let dst = root.path().join(to);
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "README.md" {
                let card = "---\nlicense: apache-2.0\npipeline_tag: text2text-generation\n---\n";
                std::fs::write(dst.join(&name), card).unwrap();
            } else if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dst.join(&name)).unwrap();
            }
        }
    };
    retag(BART, "lantern-test/bart-random");
    retag(MARIAN, "lantern-test/random-en-de");
    retag(T5, "lantern-test/t5-random");
    let mirror = lantern_mirror::testing::start_mirror(root.path());
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    for (dir, repo, task, why) in [
        (
            "bart",
            "lantern-test/bart-random",
            "summarization",
            "config.json",
        ),
        (
            "marian",
            "lantern-test/random-en-de",
            "translation",
            "named",
        ),
        ("t5", "lantern-test/t5-random", "translation", "neither"),
    ] {
        let out = std::process::Command::new(lantern_bin())
            .args(["new", dir, "--model", repo])
            .current_dir(work.path())
            .env("HF_ENDPOINT", mirror.url())
            .env("HF_HUB_CACHE", cache.path())
            .env_remove("HF_TOKEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "lantern new {repo} failed:\n{stderr}");
        let manifest = std::fs::read_to_string(work.path().join(dir).join("demo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("task = \"{task}\"")),
            "{repo}: {stderr}\n{manifest}"
        );
        let said = stderr
            .lines()
            .find(|l| l.starts_with("task: "))
            .unwrap_or_default();
        assert!(said.contains(why), "{repo}: {said}");
    }
}
