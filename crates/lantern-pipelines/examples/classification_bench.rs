//! Native text-classification benchmark: Lantern's `text_classification` pipeline on the CPU,
//! sentences per second for 64 short sentences, 8 texts of 256 tokens and 64 sentence pairs
//! (NLI-style). Run through scripts/bench-text-classification.sh, which runs transformers'
//! pipeline on the same inputs beside it and prints the table.
//!
//! `cargo run --release -p lantern-pipelines --example classification_bench -- MODEL_DIR [--scores FILE]`
//! prints one JSON line: inputs per second (median of the runs, and the fastest and slowest)
//! and peak resident memory; `--scores FILE` writes every input's labels and scores as JSON (the
//! script compares them with transformers'). `classification_bench MODEL_DIR --corpus` prints
//! the inputs instead, for the transformers side.
//! Threads: `RAYON_NUM_THREADS`.

#[cfg(not(target_arch = "wasm32"))]
#[path = "common/bench_corpus.rs"]
mod bench_corpus;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `lantern` CLI does: the peak memory is then what a user of the CLI sees.
    lantern_pipelines::process::use_one_malloc_arena();
    native::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::PathBuf;
    use std::time::Instant;

    use futures_util::FutureExt;
    use lantern_core::protocol::TextInput;
    use lantern_pipelines::device::Device;
    use lantern_pipelines::source::DirSource;
    use lantern_pipelines::text_classification::{self, TextClassifier};

    use super::bench_corpus::{long_texts, short_sentences};

    const RUNS: usize = 5;
    /// The long inputs' length in tokens, special tokens included (all-MiniLM-L6-v2's window,
    /// as in the embeddings benchmark; the classifiers here take up to 512).
    const LONG_TOKENS: usize = 256;

    type BoxError = Box<dyn std::error::Error>;

    pub fn main() -> Result<(), BoxError> {
        let args: Vec<String> = std::env::args().collect();
        let Some(dir) = args.get(1) else {
            return Err("usage: classification_bench MODEL_DIR [--scores FILE | --corpus]".into());
        };
        let dir = PathBuf::from(dir);
        let t0 = Instant::now();
        let source = DirSource::new(&dir)?;
        let classifier = text_classification::load(&source, Device::Cpu)
            .now_or_never()
            .ok_or("loading from a folder onto the CPU waits for nothing")??
            .pipeline;
        let load_s = t0.elapsed().as_secs_f64();
        let corpus = Corpus::new(&classifier)?;
        match args.get(2).map(String::as_str) {
            Some("--corpus") => {
                let pairs: Vec<[&str; 2]> = corpus
                    .pairs
                    .iter()
                    .map(|p| [p.text.as_str(), p.text_pair.as_deref().unwrap_or_default()])
                    .collect();
                let text = |v: &[TextInput]| v.iter().map(|i| i.text.clone()).collect::<Vec<_>>();
                let json = serde_json::json!({
                    "short": text(&corpus.short),
                    "long": text(&corpus.long),
                    "pairs": pairs,
                });
                println!("{json}");
                return Ok(());
            }
            Some("--scores") => {
                let path = args.get(3).ok_or("--scores needs a file")?;
                let mut all = serde_json::Map::new();
                for (name, set) in corpus.sets() {
                    let labels = classifier.classify(set, None)?;
                    all.insert(name.into(), serde_json::to_value(&labels.results)?);
                }
                std::fs::write(path, serde_json::Value::Object(all).to_string())?;
            }
            Some(other) => return Err(format!("unknown argument {other}").into()),
            None => {}
        }
        let mut row = serde_json::json!({
            "engine": "lantern",
            "model": dir.file_name().and_then(|n| n.to_str()),
            "threads": std::env::var("RAYON_NUM_THREADS").ok(),
            "load_s": load_s,
            "long_tokens": LONG_TOKENS,
        });
        for (name, set) in corpus.sets() {
            let (median, min, max) = rate(&classifier, set)?;
            row[format!("{name}_per_s")] = median.into();
            row[format!("{name}_per_s_range")] = serde_json::json!([min, max]);
        }
        row["peak_rss_mib"] = peak_rss_mib().into();
        println!("{row}");
        Ok(())
    }

    /// The inputs: the embeddings benchmark's short sentences; its long texts cut to exactly
    /// [`LONG_TOKENS`] tokens by this model's tokenizer (so no engine truncates anything); and
    /// pairs of two short sentences, as an NLI model or a cross-encoder gets them.
    struct Corpus {
        short: Vec<TextInput>,
        long: Vec<TextInput>,
        pairs: Vec<TextInput>,
    }

    impl Corpus {
        fn new(classifier: &TextClassifier) -> Result<Self, BoxError> {
            let short = short_sentences();
            let pairs = short
                .iter()
                .zip(short.iter().rev())
                .map(|(a, b)| TextInput::pair(a.clone(), b.clone()))
                .collect();
            let long = long_texts()
                .iter()
                .map(|t| cut_to_tokens(classifier, t, LONG_TOKENS).map(TextInput::new))
                .collect::<Result<_, _>>()?;
            Ok(Corpus {
                short: short.into_iter().map(TextInput::new).collect(),
                long,
                pairs,
            })
        }

        fn sets(&self) -> [(&'static str, &[TextInput]); 3] {
            [
                ("short", &self.short),
                ("long", &self.long),
                ("pairs", &self.pairs),
            ]
        }
    }

    /// The longest prefix of `text`, ending at a word, that tokenizes to exactly `tokens`
    /// tokens with the special ones.
    fn cut_to_tokens(
        classifier: &TextClassifier,
        text: &str,
        tokens: usize,
    ) -> Result<String, BoxError> {
        let count = |s: &str| -> Result<usize, BoxError> {
            Ok(classifier.tokenize(&TextInput::new(s))?.0.len())
        };
        if count(text)? <= tokens {
            return Err(format!("a long text has fewer than {tokens} tokens").into());
        }
        let words: Vec<&str> = text.split(' ').collect();
        // Words are added while the prefix fits: a prefix that ends at a word tokenizes as the
        // start of the whole text does (no word piece is split).
        let mut best = String::new();
        for n in 1..=words.len() {
            let prefix = words[..n].join(" ");
            let len = count(&prefix)?;
            if len > tokens {
                break;
            }
            best = prefix;
        }
        // Short by one or two tokens if the next word is several pieces: pad with one-piece
        // words.
        while count(&best)? < tokens {
            best.push_str(" a");
        }
        if count(&best)? != tokens {
            return Err(format!("cannot cut a long text to {tokens} tokens").into());
        }
        Ok(best)
    }

    /// Inputs per second over RUNS timed runs after one warm-up: the median, lowest and highest.
    fn rate(
        classifier: &TextClassifier,
        inputs: &[TextInput],
    ) -> Result<(f64, f64, f64), BoxError> {
        classifier.classify(inputs, None)?;
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            std::hint::black_box(classifier.classify(inputs, None)?);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let n = inputs.len() as f64;
        Ok((n / times[RUNS / 2], n / times[RUNS - 1], n / times[0]))
    }

    fn peak_rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}
