//! Real weights for the kernel tests, read from the fixture models (`scripts/fixtures.sh`):
//! layer 0 and a slice of the embedding table of SmolLM2-135M-Instruct (Q4_1 layers, Q8_0
//! embeddings, F32 norms), and the embedding layer and layer-0 projections of all-MiniLM-L6-v2
//! (F32). Types the file does not have (Q4_0, Q4_K, Q6_K, F16) are made from the real weights
//! with candle's quantizer; candle also dequantizes every matrix for the references.

use std::io::Cursor;

use candle_core::quantized::{GgmlDType, QTensor, ggml_file::qtensor_from_ggml, gguf_file};
use candle_core::{Device, Tensor};
use lantern_gpu::WeightType;

/// Paths under the mirror folder (`target/fixtures/mirror`).
pub const SMOLLM: &str =
    "lantern-fixtures/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf";
pub const MINILM: &str = "lantern-fixtures/all-MiniLM-L6-v2/model.safetensors";

/// Rows of SmolLM2's embedding table used (the logits tests use them as an output head).
pub const VOCAB_SLICE: usize = 8192;
/// Token ids of the SmolLM2 tests (all below `VOCAB_SLICE`).
pub const SMOL_IDS: [u32; 9] = [1, 4093, 198, 504, 3100, 282, 4115, 47, 2];
/// `[CLS] hello , world ! this is a test [SEP]` in BERT's uncased vocabulary.
pub const BERT_IDS: [u32; 10] = [101, 7592, 1010, 2088, 999, 2023, 2003, 1037, 3231, 102];

/// Where the fixture files come from.
pub trait Source {
    /// `len` bytes of `file` from `start` (fewer at the end of the file).
    async fn read(&self, file: &str, start: u64, len: u64) -> Vec<u8>;
}

pub fn ggml(ty: WeightType) -> GgmlDType {
    match ty {
        WeightType::F32 => GgmlDType::F32,
        WeightType::F16 => GgmlDType::F16,
        WeightType::Q4_0 => GgmlDType::Q4_0,
        WeightType::Q4_1 => GgmlDType::Q4_1,
        WeightType::Q8_0 => GgmlDType::Q8_0,
        WeightType::Q4K => GgmlDType::Q4K,
        WeightType::Q6K => GgmlDType::Q6K,
        other => panic!("no candle type for {other:?}"),
    }
}

fn weight_type(d: GgmlDType) -> WeightType {
    WeightType::ALL
        .into_iter()
        .find(|&t| ggml(t) == d)
        .unwrap_or_else(|| panic!("no kernels for {d:?}"))
}

/// A weight matrix in one type: its GGUF bytes and candle's dequantization of them.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub name: String,
    pub ty: WeightType,
    pub rows: usize,
    pub cols: usize,
    pub bytes: Vec<u8>,
    pub values: Vec<f32>,
}

impl Matrix {
    fn from_qtensor(name: String, q: &QTensor) -> Matrix {
        let (rows, cols) = q.shape().dims2().unwrap();
        let values = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        Matrix {
            name,
            ty: weight_type(q.dtype()),
            rows,
            cols,
            bytes: q.data().unwrap().into_owned(),
            values,
        }
    }

    fn from_ggml(name: &str, dtype: GgmlDType, rows: usize, cols: usize, bytes: &[u8]) -> Matrix {
        let q = qtensor_from_ggml(dtype, bytes, vec![rows, cols], &Device::Cpu).unwrap();
        Matrix::from_qtensor(name.to_owned(), &q)
    }

    pub fn from_f32(name: &str, rows: usize, cols: usize, values: Vec<f32>) -> Matrix {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Matrix {
            name: name.to_owned(),
            ty: WeightType::F32,
            rows,
            cols,
            bytes,
            values,
        }
    }

    /// The same real weights in another type (candle's quantizer on these values).
    pub fn convert(&self, ty: WeightType) -> Matrix {
        if ty == self.ty {
            return self.clone();
        }
        let t =
            Tensor::from_vec(self.values.clone(), (self.rows, self.cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, ggml(ty)).unwrap();
        Matrix::from_qtensor(format!("{} as {ty:?}", self.name), &q)
    }

    pub fn row(&self, r: usize) -> &[f32] {
        &self.values[r * self.cols..(r + 1) * self.cols]
    }
}

/// Layer 0 of SmolLM2-135M and a slice of its embedding table.
#[derive(Debug)]
pub struct Smol {
    pub embd: Matrix,
    pub attn_norm: Vec<f32>,
    pub ffn_norm: Vec<f32>,
    pub q: Matrix,
    pub k: Matrix,
    pub v: Matrix,
    pub gate: Matrix,
    pub up: Matrix,
    pub down: Matrix,
    pub eps: f32,
    pub rope_base: f32,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

/// The embedding layer and layer-0 projections of all-MiniLM-L6-v2 (all F32).
#[derive(Debug)]
pub struct Bert {
    /// Word embeddings of `BERT_IDS`, `[n, 384]`.
    pub word: Vec<f32>,
    /// Position embeddings 0..n.
    pub pos: Vec<f32>,
    pub token_type: Vec<f32>,
    pub ln_w: Vec<f32>,
    pub ln_b: Vec<f32>,
    pub eps: f32,
    pub q: Matrix,
    pub q_b: Vec<f32>,
    pub k: Matrix,
    pub k_b: Vec<f32>,
    pub v: Matrix,
    pub v_b: Vec<f32>,
    pub inter: Matrix,
    pub inter_b: Vec<f32>,
    pub heads: usize,
}

#[derive(Debug)]
pub struct Fixture {
    pub smol: Smol,
    pub bert: Bert,
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

async fn gguf_header(src: &impl Source) -> gguf_file::Content {
    // The header holds the tokenizer (about 1.8 MB for SmolLM2); read more until it parses.
    let mut len = 1u64 << 21;
    loop {
        let bytes = src.read(SMOLLM, 0, len).await;
        match gguf_file::Content::read(&mut Cursor::new(&bytes)) {
            Ok(c) => return c,
            Err(e) if (bytes.len() as u64) < len || len > 1 << 26 => panic!("{SMOLLM}: {e}"),
            Err(_) => len *= 2,
        }
    }
}

async fn smol(src: &impl Source) -> Smol {
    let c = gguf_header(src).await;
    let meta_u32 = |k: &str| c.metadata[k].to_u32().unwrap() as usize;
    let meta_f32 = |k: &str| c.metadata[k].to_f32().unwrap();
    let tensor = |name: &str, rows: Option<usize>| {
        let info = &c.tensor_infos[name];
        let dims = info.shape.dims().to_vec();
        let (all_rows, cols) = if dims.len() == 2 {
            (dims[0], dims[1])
        } else {
            (1, dims[0])
        };
        let rows = rows.unwrap_or(all_rows);
        let bytes = rows * cols / info.ggml_dtype.block_size() * info.ggml_dtype.type_size();
        (
            info.ggml_dtype,
            rows,
            cols,
            c.tensor_data_offset + info.offset,
            bytes as u64,
        )
    };
    let matrix = async |name: &str, rows: Option<usize>| {
        let (dtype, rows, cols, at, len) = tensor(name, rows);
        Matrix::from_ggml(name, dtype, rows, cols, &src.read(SMOLLM, at, len).await)
    };
    let vector = async |name: &str| {
        let (dtype, _, _, at, len) = tensor(name, None);
        assert_eq!(dtype, GgmlDType::F32, "{name}");
        f32s(&src.read(SMOLLM, at, len).await)
    };
    let heads = meta_u32("llama.attention.head_count");
    Smol {
        embd: matrix("token_embd.weight", Some(VOCAB_SLICE)).await,
        attn_norm: vector("blk.0.attn_norm.weight").await,
        ffn_norm: vector("blk.0.ffn_norm.weight").await,
        q: matrix("blk.0.attn_q.weight", None).await,
        k: matrix("blk.0.attn_k.weight", None).await,
        v: matrix("blk.0.attn_v.weight", None).await,
        gate: matrix("blk.0.ffn_gate.weight", None).await,
        up: matrix("blk.0.ffn_up.weight", None).await,
        down: matrix("blk.0.ffn_down.weight", None).await,
        eps: meta_f32("llama.attention.layer_norm_rms_epsilon"),
        rope_base: meta_f32("llama.rope.freq_base"),
        heads,
        kv_heads: meta_u32("llama.attention.head_count_kv"),
        head_dim: meta_u32("llama.embedding_length") / heads,
    }
}

async fn bert(src: &impl Source) -> Bert {
    let n = u64::from_le_bytes(src.read(MINILM, 0, 8).await.try_into().unwrap());
    let header: serde_json::Value = serde_json::from_slice(&src.read(MINILM, 8, n).await).unwrap();
    let base = 8 + n;
    let span = |name: &str| {
        let t = &header[name];
        assert_eq!(t["dtype"], "F32", "{name}");
        let o = &t["data_offsets"];
        let shape: Vec<usize> = t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        (
            base + o[0].as_u64().unwrap(),
            o[1].as_u64().unwrap() - o[0].as_u64().unwrap(),
            shape,
        )
    };
    let vector = async |name: &str| {
        let (at, len, _) = span(name);
        f32s(&src.read(MINILM, at, len).await)
    };
    let matrix = async |name: &str| {
        let (at, len, shape) = span(name);
        Matrix::from_f32(
            name,
            shape[0],
            shape[1],
            f32s(&src.read(MINILM, at, len).await),
        )
    };
    let dim = 384u64;
    let (word_at, _, _) = span("embeddings.word_embeddings.weight");
    let mut word = Vec::new();
    for id in BERT_IDS {
        word.extend(f32s(
            &src.read(MINILM, word_at + u64::from(id) * dim * 4, dim * 4)
                .await,
        ));
    }
    let (pos_at, _, _) = span("embeddings.position_embeddings.weight");
    let pos = f32s(
        &src.read(MINILM, pos_at, BERT_IDS.len() as u64 * dim * 4)
            .await,
    );
    let (type_at, _, _) = span("embeddings.token_type_embeddings.weight");
    let l = "encoder.layer.0.";
    Bert {
        word,
        pos,
        token_type: f32s(&src.read(MINILM, type_at, dim * 4).await),
        ln_w: vector("embeddings.LayerNorm.weight").await,
        ln_b: vector("embeddings.LayerNorm.bias").await,
        // config.json: layer_norm_eps.
        eps: 1e-12,
        q: matrix(&format!("{l}attention.self.query.weight")).await,
        q_b: vector(&format!("{l}attention.self.query.bias")).await,
        k: matrix(&format!("{l}attention.self.key.weight")).await,
        k_b: vector(&format!("{l}attention.self.key.bias")).await,
        v: matrix(&format!("{l}attention.self.value.weight")).await,
        v_b: vector(&format!("{l}attention.self.value.bias")).await,
        inter: matrix(&format!("{l}intermediate.dense.weight")).await,
        inter_b: vector(&format!("{l}intermediate.dense.bias")).await,
        heads: 12,
    }
}

impl Fixture {
    pub async fn load(src: &impl Source) -> Fixture {
        Fixture {
            smol: smol(src).await,
            bert: bert(src).await,
        }
    }
}
