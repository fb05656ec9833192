//! Prints the token ids of a text for a GGUF file's tokenizer (as `llama-tokenize --ids`).
//! `cargo run -p lantern-pipelines --example tokenize -- FILE.gguf TEXT`

use lantern_models::gguf::GgufFile;
use lantern_pipelines::tokenizer::Tokenizer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(text)) = (args.next(), args.next()) else {
        return Err("usage: tokenize FILE.gguf TEXT".into());
    };
    let bytes = std::fs::read(path)?;
    let file = GgufFile::parse(&bytes)?;
    let tok = Tokenizer::from_gguf(&file.metadata)?;
    let ids = tok.encode(&text, true)?;
    println!("{ids:?}");
    for id in ids {
        eprintln!("{id:>6} {:?}", tok.token_text(id).unwrap_or_default());
    }
    Ok(())
}
