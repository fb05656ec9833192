//! Which `.gguf` file of a repository a new demo should use.
//!
//! GGUF repositories usually hold one file per quantization (`Model.Q4_K_M.gguf`,
//! `model-q8_0.gguf`, …). The default is, in order:
//! 1. `Q4_K_M`: the quantization llama.cpp and most model pages recommend as the balance of size
//!    and quality;
//! 2. `Q4_1`, then `Q4_0`: 4-bit types Lantern has its own fast CPU and GPU kernels for
//!    (`Q4_1` keeps a per-block minimum, so it is closer to the original for 12 % more bytes);
//! 3. otherwise the smallest file Lantern can run.
//!
//! Every candidate must fit the browser ([`crate::limits`]). Files Lantern cannot run are
//! listed with the reason: i-quants (`IQ4_XS`, …) and other types the CPU backend has no kernel
//! for, split models (`-00001-of-00003.gguf`, the worker loads one file), and multimodal
//! projectors (`mmproj-*.gguf`, not a language model).

use crate::limits::{MAX_MODEL_BYTES, human_bytes};

/// One `.gguf` file of a repository, and whether a demo can use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufFile {
    pub path: String,
    pub size: u64,
    /// `Q4_K_M`, `F16`, … read from the file name.
    pub quant: Option<String>,
    /// Why it cannot be used; `None` when it can.
    pub unusable: Option<&'static str>,
}

/// The outcome: every `.gguf` file, and the one picked with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub files: Vec<GgufFile>,
    pub picked: usize,
    pub why: String,
}

/// Why a file is refused for its size (a pinned file's size is checked with the whole model's,
/// by whoever pins it, with the sizes in the message).
pub const TOO_LARGE: &str = "too large for a wasm32 worker (2 GiB)";

/// Weight types the CPU backend loads (candle's GGML types); a file named after another type
/// (or none) is still offered when its name says nothing, since the name is only a convention.
const SUPPORTED: &[&str] = &[
    "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q3_K_S",
    "Q3_K_M", "Q3_K_L", "Q4_K", "Q4_K_S", "Q4_K_M", "Q5_K", "Q5_K_S", "Q5_K_M", "Q6_K",
];

/// Lists the `.gguf` files of a repository (paths and sizes) and picks the default; `None`
/// when there is none.
pub fn choose(files: &[(String, u64)]) -> Option<Choice> {
    let mut ggufs: Vec<GgufFile> = files
        .iter()
        .filter(|(p, _)| p.to_ascii_lowercase().ends_with(".gguf"))
        .map(|(p, size)| classify(p, *size))
        .collect();
    if ggufs.is_empty() {
        return None;
    }
    ggufs.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.path.cmp(&b.path)));
    let usable = |g: &GgufFile| g.unusable.is_none();
    let by_quant = |q: &str| {
        ggufs
            .iter()
            .position(|g| usable(g) && g.quant.as_deref() == Some(q))
    };
    let (picked, why) = if let Some(i) = by_quant("Q4_K_M") {
        (
            i,
            "Q4_K_M is the usual balance of size and quality for GGUF models".to_owned(),
        )
    } else if let Some(i) = by_quant("Q4_1").or_else(|| by_quant("Q4_0")) {
        (
            i,
            "no Q4_K_M here; Q4_1/Q4_0 are 4-bit types with Lantern's own fast kernels".to_owned(),
        )
    } else if let Some(i) = ggufs.iter().position(usable) {
        (
            i,
            "no Q4_K_M, Q4_1 or Q4_0 here; this is the smallest file Lantern can run".to_owned(),
        )
    } else {
        // Nothing usable: still report the list, pointing at the smallest file.
        (0, "no file here can run in the browser".to_owned())
    };
    Some(Choice {
        files: ggufs,
        picked,
        why,
    })
}

impl Choice {
    pub fn picked(&self) -> Option<&GgufFile> {
        self.files.get(self.picked).filter(|g| g.unusable.is_none())
    }

    /// The table `lantern new` prints: every file, its size, and a mark on the pick.
    pub fn table(&self) -> String {
        let width = self.files.iter().map(|g| g.path.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (i, g) in self.files.iter().enumerate() {
            let mark = if i == self.picked && g.unusable.is_none() {
                "*"
            } else {
                " "
            };
            let note = g.unusable.unwrap_or("");
            let line = format!(
                "  {mark} {:width$}  {:>9}  {note}",
                g.path,
                human_bytes(g.size)
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn classify(path: &str, size: u64) -> GgufFile {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = &name[..name.len() - ".gguf".len()];
    let quant = quant_of(stem);
    let lower = stem.to_ascii_lowercase();
    let unusable = if lower.starts_with("mmproj") || lower.contains("-mmproj") {
        Some("a multimodal projector, not a language model")
    } else if is_split(&lower) {
        Some("one part of a split model; Lantern loads single-file models")
    } else if quant.as_deref().is_some_and(|q| !SUPPORTED.contains(&q)) {
        Some("a weight type Lantern's kernels do not run")
    } else if size > MAX_MODEL_BYTES {
        Some(TOO_LARGE)
    } else {
        None
    };
    GgufFile {
        path: path.to_owned(),
        size,
        quant,
        unusable,
    }
}

/// The quantization named in a file stem: its last `.`/`-`-separated part that looks like one
/// (`Q4_K_M`, `IQ4_XS`, `F16`, `BF16`), upper-cased.
pub fn quant_of(stem: &str) -> Option<String> {
    stem.rsplit(['.', '-'])
        .map(str::to_ascii_uppercase)
        .find(|part| {
            let q = part.strip_prefix('I').unwrap_or(part);
            matches!(part.as_str(), "F32" | "F16" | "BF16")
                || (q.starts_with('Q')
                    && q[1..].starts_with(|c: char| c.is_ascii_digit())
                    && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        })
}

/// `name-00001-of-00003`: llama.cpp's `gguf-split` naming.
fn is_split(lower_stem: &str) -> bool {
    let parts: Vec<&str> = lower_stem.rsplit('-').take(3).collect();
    matches!(parts.as_slice(), [total, "of", part]
        if !total.is_empty() && !part.is_empty()
            && total.bytes().all(|b| b.is_ascii_digit())
            && part.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter()
            .map(|(p, size)| (p.to_string(), *size))
            .collect()
    }

    fn pick(list: &[(&str, u64)]) -> String {
        let c = choose(&files(list)).unwrap();
        c.picked().unwrap().path.clone()
    }

    #[test]
    fn reads_quantizations_from_names() {
        assert_eq!(
            quant_of("SmolLM2-135M-Instruct.Q4_1").as_deref(),
            Some("Q4_1")
        );
        assert_eq!(
            quant_of("qwen2.5-0.5b-instruct-q4_k_m").as_deref(),
            Some("Q4_K_M")
        );
        assert_eq!(
            quant_of("Llama-3.2-1B-Instruct-IQ4_XS").as_deref(),
            Some("IQ4_XS")
        );
        assert_eq!(quant_of("model-bf16").as_deref(), Some("BF16"));
        assert_eq!(quant_of("model"), None);
        assert_eq!(quant_of("Qwen2-0.5B"), None);
    }

    #[test]
    fn prefers_q4_k_m_then_q4_1_q4_0_then_the_smallest() {
        let all = [
            ("m.Q8_0.gguf", 145_000_000),
            ("m.Q4_0.gguf", 90_000_000),
            ("m.Q4_1.gguf", 98_000_000),
            ("m.Q4_K_M.gguf", 105_000_000),
            ("m.Q2_K.gguf", 60_000_000),
        ];
        assert_eq!(pick(&all), "m.Q4_K_M.gguf");
        assert_eq!(pick(&all[..3]), "m.Q4_1.gguf");
        assert_eq!(pick(&[all[0], all[1]]), "m.Q4_0.gguf");
        assert_eq!(pick(&[all[0], all[4]]), "m.Q2_K.gguf");
        assert_eq!(pick(&[("model.gguf", 1000)]), "model.gguf");
    }

    #[test]
    fn skips_what_cannot_run_and_says_why() {
        let c = choose(&files(&[
            ("m-IQ4_XS.gguf", 10),
            ("mmproj-m-f16.gguf", 20),
            ("m-Q4_K_M-00001-of-00002.gguf", 30),
            ("big.Q4_K_M.gguf", MAX_MODEL_BYTES + 1),
            ("m.Q8_0.gguf", 500),
            ("README.md", 5),
        ]))
        .unwrap();
        assert_eq!(c.files.len(), 5);
        assert_eq!(c.picked().unwrap().path, "m.Q8_0.gguf");
        let table = c.table();
        assert!(table.contains("* m.Q8_0.gguf"), "{table}");
        for reason in ["do not run", "projector", "split", "too large"] {
            assert!(table.contains(reason), "{reason}: {table}");
        }
        let none = choose(&files(&[("m-IQ2_XXS.gguf", 10)])).unwrap();
        assert!(none.picked().is_none());
        assert!(choose(&files(&[("model.safetensors", 10)])).is_none());
    }
}
