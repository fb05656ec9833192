//! Native embedding benchmark: Lantern (f32 and Q8_0) and candle-transformers' BERT on the same
//! texts, batch of 64 short sentences and 8 long (256-token) texts. Run through
//! scripts/bench-embeddings.sh, which also runs the browser side and prints the table.
//!
//! `cargo run --release -p lantern-pipelines --example embeddings_bench -- MODEL_DIR lantern|lantern-q8|candle [short|long]`
//! (`- corpus` prints the texts as JSON, `- gemm` the f32 matmul GFLOP/s)
//! prints one JSON line: sentences per second (median of the runs) and peak resident memory.
//! Threads: `RAYON_NUM_THREADS` (both Lantern's and candle's matmuls read it).
//!
//! Built for `wasm32-wasip1` (Lantern engines only), the same code runs the simd128 build under
//! Node, where it can be profiled (bench/README.md).

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
#[path = "common/bench_corpus.rs"]
mod bench_corpus;

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As the `lantern` CLI does: the peak memory is then what a user of the CLI sees.
    lantern_pipelines::process::use_one_malloc_arena();
    native::main()
}

#[cfg(all(target_arch = "wasm32", not(target_os = "wasi")))]
fn main() {}

#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
mod native {
    use std::path::PathBuf;
    use std::time::Instant;

    #[cfg(not(target_arch = "wasm32"))]
    use candle_core::{DType, Device, Tensor};
    #[cfg(not(target_arch = "wasm32"))]
    use lantern_pipelines::embeddings::normalize;
    use lantern_pipelines::embeddings::{Embedder, EmbedderOptions, Quantization};

    use super::bench_corpus::{long_texts, short_sentences};

    const RUNS: usize = 5;

    type BoxError = Box<dyn std::error::Error>;
    type Vectors = Result<Vec<Vec<f32>>, BoxError>;
    type Engine = Box<dyn Fn(&[String]) -> Vectors>;

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let args: Vec<String> = std::env::args().collect();
        let (Some(dir), Some(which)) = (args.get(1), args.get(2)) else {
            return Err("usage: embeddings_bench MODEL_DIR lantern|lantern-q8|candle".into());
        };
        if which == "gemm" {
            return gemm_probe();
        }
        if which == "corpus" {
            // The texts, for the browser benchmark page (bench/web/bench.js).
            let corpus = serde_json::json!({"short": short_sentences(), "long": long_texts()});
            println!("{corpus}");
            return Ok(());
        }
        let dir = PathBuf::from(dir);
        let (short, long) = (short_sentences(), long_texts());
        let t0 = Instant::now();
        let embed: Engine = match which.as_str() {
            "lantern" | "lantern-q8" => {
                // The default batch size (32), as the browser benchmark uses.
                let options = EmbedderOptions {
                    quantization: if which == "lantern-q8" {
                        Quantization::Q8_0
                    } else {
                        Quantization::None
                    },
                    ..EmbedderOptions::default()
                };
                let e = Embedder::from_dir(&dir, &options)?;
                Box::new(move |t| Ok(e.embed(t)?))
            }
            #[cfg(not(target_arch = "wasm32"))]
            "candle" => Box::new(candle_peer(&dir)?),
            other => return Err(format!("unknown engine {other}").into()),
        };
        let load_s = t0.elapsed().as_secs_f64();
        // An optional third argument runs one set only (to profile it alone).
        let only = args.get(3).map(String::as_str);
        let short_sps = if only == Some("long") {
            None
        } else {
            Some(rate(&*embed, &short)?)
        };
        let long_sps = if only == Some("short") {
            None
        } else {
            Some(rate(&*embed, &long)?)
        };
        // A sanity check that all engines compute the same thing: the first vector's head.
        let probe = embed(&short[..1])?;
        println!(
            "{}",
            serde_json::json!({
                "engine": which,
                "threads": std::env::var("RAYON_NUM_THREADS").ok(),
                "load_s": load_s,
                "short_sentences_per_s": short_sps,
                "long_sentences_per_s": long_sps,
                "peak_rss_mib": peak_rss_mib(),
                "probe": &probe[0][..4],
            })
        );
        Ok(())
    }

    /// GFLOP/s of the f32 matmuls of one all-MiniLM-L6-v2 layer on 512 token rows (a batch
    /// of 32 short sentences), through candle's matmul (what the encoder uses natively) and
    /// Lantern's packed one (what it uses in wasm): the bound behind the short-sentence
    /// numbers (`embeddings_bench - gemm`).
    fn gemm_probe() -> Result<(), BoxError> {
        use candle_core::{Device, Tensor};
        use lantern_models::ops::cpu::packed_f32::PackedF32;
        let mut out = serde_json::Map::new();
        for (name, k, n) in [
            ("384x384", 384, 384),
            ("384x1536", 384, 1536),
            ("1536x384", 1536, 384),
        ] {
            let m = 512;
            let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu)?;
            let w = Tensor::randn(0f32, 1.0, (k, n), &Device::Cpu)?;
            // Best of 20 runs of `run` (which keeps its product from being optimised away).
            let gflops = |run: &dyn Fn() -> Result<(), BoxError>| -> Result<f64, BoxError> {
                let mut best = f64::MAX;
                for _ in 0..20 {
                    let t = Instant::now();
                    run()?;
                    best = best.min(t.elapsed().as_secs_f64());
                }
                Ok(2.0 * (m * k * n) as f64 / best / 1e9)
            };
            let candle = gflops(&|| {
                std::hint::black_box(x.matmul(&w)?);
                Ok(())
            })?;
            out.insert(format!("{m}x{name}"), serde_json::json!(candle));
            // Lantern's packed f32 matmul (the wasm build's BERT layers; portable natively).
            let packed = PackedF32::new(&w.t()?.flatten_all()?.to_vec1()?, n, k)?;
            let (xs, bias) = (x.flatten_all()?.to_vec1::<f32>()?, vec![0f32; n]);
            let lantern = gflops(&|| {
                std::hint::black_box(packed.matmul_bias(&xs, &bias)?);
                Ok(())
            })?;
            out.insert(format!("packed {m}x{name}"), serde_json::json!(lantern));
        }
        println!(
            "{}",
            serde_json::json!({"engine": "gemm", "gflop_per_s": out})
        );
        Ok(())
    }

    type EmbedFn<'a> = &'a dyn Fn(&[String]) -> Vectors;

    /// Sentences per second: median over RUNS timed runs after one warm-up.
    fn rate(embed: EmbedFn<'_>, texts: &[String]) -> Result<f64, Box<dyn std::error::Error>> {
        embed(texts)?;
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            embed(texts)?;
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        Ok(texts.len() as f64 / times[RUNS / 2])
    }

    fn peak_rss_mib() -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }

    #[cfg(not(target_arch = "wasm32"))]
    /// candle-transformers' BertModel with the same tokenizer, truncation (256), padding and
    /// mean pooling + L2 norm.
    fn candle_peer(
        dir: &std::path::Path,
    ) -> Result<impl Fn(&[String]) -> Vectors + use<>, BoxError> {
        use candle_transformers::models::bert::{BertModel, Config};
        let cfg: Config = serde_json::from_slice(&std::fs::read(dir.join("config.json"))?)?;
        let weights = std::fs::read(dir.join("model.safetensors"))?;
        let vb =
            candle_nn::VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)?;
        let model = BertModel::load(vb, &cfg)?;
        let mut tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| e.to_string())?;
        tok.with_truncation(Some(tokenizers::TruncationParams {
            max_length: 256,
            ..Default::default()
        }))
        .map_err(|e| e.to_string())?;
        tok.with_padding(Some(tokenizers::PaddingParams::default()));
        Ok(move |texts: &[String]| -> Vectors {
            let enc = tok
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| e.to_string())?;
            let (b, n) = (enc.len(), enc[0].get_ids().len());
            let ids: Vec<u32> = enc.iter().flat_map(|e| e.get_ids().to_vec()).collect();
            let mask: Vec<u32> = enc
                .iter()
                .flat_map(|e| e.get_attention_mask().to_vec())
                .collect();
            let ids = Tensor::from_vec(ids, (b, n), &Device::Cpu)?;
            let mask = Tensor::from_vec(mask, (b, n), &Device::Cpu)?;
            let hidden = model.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
            let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let pooled = (hidden.broadcast_mul(&m)?.sum(1)?
                / m.sum(1)?.broadcast_as((b, cfg.hidden_size))?)?;
            let mut out = pooled.to_vec2::<f32>()?;
            for v in &mut out {
                normalize(v);
            }
            Ok(out)
        })
    }
}
