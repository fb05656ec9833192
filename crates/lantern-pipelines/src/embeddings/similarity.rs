//! Sentence similarity (a cosine matrix) and semantic search (a query ranked against
//! documents) over embeddings.

use super::error::{EmbeddingsError, Result};

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> Result<f32> {
    if a.len() != b.len() {
        return Err(EmbeddingsError::DimensionMismatch(a.len(), b.len()));
    }
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let denom = (aa.sqrt() * bb.sqrt()).max(1e-12);
    Ok((ab / denom) as f32)
}

/// `m[i][j] = cosine(rows[i], cols[j])`.
pub fn similarity_matrix(rows: &[Vec<f32>], cols: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
    rows.iter()
        .map(|r| cols.iter().map(|c| cosine(r, c)).collect())
        .collect()
}

/// One search result: a document's index in the corpus and its cosine score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub index: usize,
    pub score: f32,
}

/// The `top_k` documents most similar to `query`, best first; equal scores keep corpus order.
pub fn rank(query: &[f32], corpus: &[Vec<f32>], top_k: usize) -> Result<Vec<Hit>> {
    let mut hits = corpus
        .iter()
        .enumerate()
        .map(|(index, doc)| {
            Ok(Hit {
                index,
                score: cosine(query, doc)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // total_cmp: a NaN (impossible from finite vectors) would still sort deterministically.
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    hits.truncate(top_k);
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_and_ranking() -> Result<()> {
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0])? - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0])?, 0.0);
        assert!(matches!(
            cosine(&[1.0], &[1.0, 2.0]),
            Err(EmbeddingsError::DimensionMismatch(1, 2))
        ));
        let corpus = vec![
            vec![0.0, 1.0],
            vec![1.0, 0.1],
            vec![1.0, 0.0],
            vec![1.0, 0.0],
        ];
        let hits = rank(&[1.0, 0.0], &corpus, 3)?;
        let order: Vec<usize> = hits.iter().map(|h| h.index).collect();
        assert_eq!(order, [2, 3, 1]);
        let m = similarity_matrix(&corpus[..2], &corpus)?;
        assert_eq!((m.len(), m[0].len()), (2, 4));
        assert!((m[1][1] - 1.0).abs() < 1e-6);
        Ok(())
    }
}
