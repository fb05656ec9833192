//! Converts a llama-family GGUF file to another type with llama.cpp's per-tensor choices
//! (`lantern_models::gguf::Ftype`), through candle's quantizer. `scripts/fixtures-requantized.sh`
//! makes the Q4_0, Q8_0 and Q4_K_M fixtures with it.
//!
//! `cargo run -p lantern-models --example requantize -- IN.gguf OUT.gguf q4_0|q8_0|q4_k_m`

use lantern_models::gguf::{Ftype, GgufFile, requantize_ftype};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output, ftype] = args.as_slice() else {
        return Err("usage: requantize IN.gguf OUT.gguf q4_0|q8_0|q4_k_m".into());
    };
    let ftype = match ftype.to_ascii_lowercase().as_str() {
        "q4_0" => Ftype::Q4_0,
        "q8_0" => Ftype::Q8_0,
        "q4_k_m" => Ftype::Q4KM,
        other => return Err(format!("unknown type {other}").into()),
    };
    let bytes = std::fs::read(input)?;
    let out = requantize_ftype(&bytes, ftype)?;
    // Written next to the destination and renamed, so an interrupted run leaves no file that
    // looks complete.
    let tmp = format!("{output}.tmp");
    std::fs::write(&tmp, &out)?;
    std::fs::rename(&tmp, output)?;
    let file = GgufFile::parse(&out)?;
    let mut counts = std::collections::BTreeMap::new();
    for t in &file.tensors {
        *counts.entry(format!("{:?}", t.dtype)).or_insert(0usize) += 1;
    }
    eprintln!("{output}: {} bytes, tensors by type {counts:?}", out.len());
    Ok(())
}
