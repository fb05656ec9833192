//! The metrics of an evaluation (issue 16): a model's outputs scored against a dataset's
//! references, row by row and over the whole set, in the worker (the page's evaluate Spaces)
//! and natively (`lantern eval`) alike, so both report the same numbers.
//!
//! Each metric is the definition of the package users compare with, reproduced exactly,
//! quirks included, and checked against it on the same outputs (`tests/metrics.rs`, goldens
//! made by `scripts/reference/metrics.py`):
//! - word error rate: `jiwer.wer` with its default transform (runs of two or more whitespace
//!   characters become one space, the ends are stripped, words are split on the space
//!   character only, so `"a\tb"` is one word; no case or punctuation folding);
//! - chrF: sacreBLEU's `CHRF()` (character 1- to 6-grams with whitespace removed, beta 2,
//!   no word n-grams, sacreBLEU 2's effective-order averaging); the corpus score is computed
//!   from the summed statistics, not as a mean of sentence scores;
//! - ROUGE-L: `rouge_score`'s `RougeScorer(["rougeL"])` without stemming (lower case, runs of
//!   anything but `a-z0-9` are separators, so non-ASCII letters are dropped); the corpus score
//!   is the mean F-measure;
//! - accuracy, macro-F1 and the confusion matrix: scikit-learn's `accuracy_score`,
//!   `f1_score(average="macro")` over the labels of both columns (a label with no true and no
//!   predicted row cannot occur; an undefined precision or recall counts as 0), and
//!   `confusion_matrix` with the labels sorted;
//! - Spearman's rank correlation: `scipy.stats.spearmanr` (ties get their average rank).
//!
//! Scores are f64. Nothing here panics on any input: impossible values (no rows, a constant
//! column for Spearman) are a [`MetricError`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::Task;

/// A metric that cannot be computed from what it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    #[error("unknown metric {0:?} (expected one of {names})", names = Metric::names())]
    Unknown(String),
    #[error("the {metric} metric does not fit the {task} task (it takes {fits})")]
    WrongTask {
        metric: &'static str,
        task: &'static str,
        fits: String,
    },
    #[error("no rows to score")]
    Empty,
    #[error("{outputs} outputs for {references} references")]
    LengthMismatch { outputs: usize, references: usize },
    #[error("Spearman's correlation is undefined: {0}")]
    Undefined(&'static str),
}

/// A metric by its name on the command line and in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Accuracy,
    MacroF1,
    Wer,
    ExactMatch,
    Chrf,
    RougeL,
    Spearman,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Accuracy,
        Metric::MacroF1,
        Metric::Wer,
        Metric::ExactMatch,
        Metric::Chrf,
        Metric::RougeL,
        Metric::Spearman,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro_f1",
            Metric::Wer => "wer",
            Metric::ExactMatch => "exact_match",
            Metric::Chrf => "chrf",
            Metric::RougeL => "rougeL",
            Metric::Spearman => "spearman",
        }
    }

    fn names() -> String {
        Metric::ALL.map(Metric::as_str).join(", ")
    }

    /// Whether a higher value is better (the rows' table sorts the worst first).
    pub fn higher_is_better(self) -> bool {
        self != Metric::Wer
    }

    /// The tasks whose outputs this metric scores.
    pub fn tasks(self) -> &'static [Task] {
        match self {
            Metric::Accuracy | Metric::MacroF1 => {
                &[Task::TextClassification, Task::ImageClassification]
            }
            Metric::Wer => &[Task::AutomaticSpeechRecognition],
            Metric::ExactMatch | Metric::Chrf => &[Task::Translation, Task::Summarization],
            Metric::RougeL => &[Task::Summarization, Task::Translation],
            Metric::Spearman => &[Task::SentenceSimilarity, Task::FeatureExtraction],
        }
    }

    /// The metric of a task when none is named: accuracy for classification, wer for
    /// speech, chrf for translation, rougeL for summarization, spearman for similarity.
    pub fn default_for(task: Task) -> Option<Metric> {
        Some(match task {
            Task::TextClassification | Task::ImageClassification => Metric::Accuracy,
            Task::AutomaticSpeechRecognition => Metric::Wer,
            Task::Translation => Metric::Chrf,
            Task::Summarization => Metric::RougeL,
            Task::SentenceSimilarity | Task::FeatureExtraction => Metric::Spearman,
            Task::TextGeneration | Task::ObjectDetection => return None,
        })
    }

    /// `self` if it scores `task`'s outputs, else why not.
    pub fn check_task(self, task: Task) -> Result<Metric, MetricError> {
        if self.tasks().contains(&task) {
            return Ok(self);
        }
        Err(MetricError::WrongTask {
            metric: self.as_str(),
            task: task.as_str(),
            fits: self
                .tasks()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = MetricError;

    /// The names of [`Metric::as_str`], and `rouge-l`/`rougel`, `f1`, `macro-f1`, `chrF`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded = s.trim().to_ascii_lowercase().replace('-', "_");
        Ok(match folded.as_str() {
            "accuracy" | "acc" => Metric::Accuracy,
            "macro_f1" | "f1" => Metric::MacroF1,
            "wer" => Metric::Wer,
            "exact_match" | "em" => Metric::ExactMatch,
            "chrf" => Metric::Chrf,
            "rougel" | "rouge_l" => Metric::RougeL,
            "spearman" => Metric::Spearman,
            _ => return Err(MetricError::Unknown(s.to_owned())),
        })
    }
}

/// Python's `str.isspace`, which `str.split()` and the `\s` of `re` use: Unicode's
/// White_Space and also the four information separators U+001C..U+001F (Rust's
/// `char::is_whitespace` leaves those out).
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

// ---------------------------------------------------------------------------------------------
// Word error rate

/// The word errors of one row or of many: WER is `errors / reference_words`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WordErrors {
    /// Substitutions, deletions and insertions of a shortest alignment (the word-level edit
    /// distance).
    pub errors: usize,
    pub reference_words: usize,
    pub hypothesis_words: usize,
}

impl WordErrors {
    /// jiwer's WER: errors per reference word; with no reference words at all, the number of
    /// inserted words (jiwer's edge case: 0 for an empty hypothesis).
    pub fn rate(&self) -> f64 {
        if self.reference_words == 0 {
            return self.errors as f64;
        }
        self.errors as f64 / self.reference_words as f64
    }
}

impl std::ops::AddAssign for WordErrors {
    fn add_assign(&mut self, o: WordErrors) {
        self.errors += o.errors;
        self.reference_words += o.reference_words;
        self.hypothesis_words += o.hypothesis_words;
    }
}

/// jiwer's default transform: `re.sub(r"\s\s+", " ", s)`, `strip()`, then split on " ".
fn jiwer_words(s: &str) -> Vec<&str> {
    // Runs of two or more whitespace characters are separators; a single whitespace
    // character other than the space stays inside its word (jiwer's quirk, kept).
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let run = chars[i..]
            .iter()
            .take_while(|(_, c)| py_isspace(*c))
            .count();
        let separator = c == ' ' || run >= 2 || (run == 1 && (i == 0 || i + 1 == chars.len()));
        if run > 0 && separator {
            if let Some(s0) = start.take() {
                words.push(&s[s0..at]);
            }
            i += run.max(1);
            continue;
        }
        if start.is_none() {
            start = Some(at);
        }
        i += 1;
    }
    if let Some(s0) = start {
        words.push(&s[s0..]);
    }
    words
}

/// The word errors of `hypothesis` against `reference` (jiwer's default transform).
pub fn word_errors(reference: &str, hypothesis: &str) -> WordErrors {
    let r = jiwer_words(reference);
    let h = jiwer_words(hypothesis);
    WordErrors {
        errors: edit_distance(&r, &h),
        reference_words: r.len(),
        hypothesis_words: h.len(),
    }
}

/// Levenshtein distance with unit costs, in O(len(b)) memory.
fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(x != y);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j + 1] + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Exact match

/// 1 when the output is the reference exactly (no folding: `evaluate`'s `exact_match`
/// defaults, and scikit-learn's `accuracy_score` on the strings), else 0.
pub fn exact_match(reference: &str, hypothesis: &str) -> f64 {
    f64::from(u8::from(reference == hypothesis))
}

// ---------------------------------------------------------------------------------------------
// chrF

/// sacreBLEU's defaults: character n-grams up to 6, recall weighted by beta = 2.
const CHRF_ORDER: usize = 6;
const CHRF_BETA: f64 = 2.0;

/// chrF's sufficient statistics: per n-gram order, the hypothesis' n-grams, the reference's
/// and their matches. Sums of rows give the corpus score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChrfStats([u64; 3 * CHRF_ORDER]);

impl std::ops::AddAssign for ChrfStats {
    fn add_assign(&mut self, o: ChrfStats) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
}

impl ChrfStats {
    /// The statistics of one row (sacreBLEU's `_compute_segment_statistics` with one
    /// reference).
    pub fn of(hypothesis: &str, reference: &str) -> ChrfStats {
        let hyp: Vec<char> = hypothesis.chars().filter(|&c| !py_isspace(c)).collect();
        let refr: Vec<char> = reference.chars().filter(|&c| !py_isspace(c)).collect();
        let mut stats = [0u64; 3 * CHRF_ORDER];
        for n in 1..=CHRF_ORDER {
            let mut ref_counts: HashMap<&[char], u64> = HashMap::new();
            for g in refr.windows(n) {
                *ref_counts.entry(g).or_default() += 1;
            }
            let mut hyp_counts: HashMap<&[char], u64> = HashMap::new();
            for g in hyp.windows(n) {
                *hyp_counts.entry(g).or_default() += 1;
            }
            let ref_total: u64 = ref_counts.values().sum();
            let hyp_total: u64 = hyp_counts.values().sum();
            let matches: u64 = hyp_counts
                .iter()
                .map(|(g, &c)| ref_counts.get(g).map_or(0, |&r| c.min(r)))
                .sum();
            let s = &mut stats[3 * (n - 1)..3 * n];
            // sacreBLEU counts no hypothesis n-grams where the reference has none.
            s[0] = if ref_counts.is_empty() { 0 } else { hyp_total };
            s[1] = ref_total;
            s[2] = matches;
        }
        ChrfStats(stats)
    }

    /// The chrF score (0 to 100): sacreBLEU's `_compute_f_score` without eps smoothing.
    pub fn score(&self) -> f64 {
        let factor = CHRF_BETA * CHRF_BETA;
        let (mut precision, mut recall, mut effective) = (0.0, 0.0, 0usize);
        for s in self.0.chunks_exact(3) {
            let (hyp, refr, matches) = (s[0], s[1], s[2]);
            if hyp > 0 && refr > 0 {
                precision += matches as f64 / hyp as f64;
                recall += matches as f64 / refr as f64;
                effective += 1;
            }
        }
        if effective == 0 {
            return 0.0;
        }
        precision /= effective as f64;
        recall /= effective as f64;
        if precision + recall == 0.0 {
            return 0.0;
        }
        100.0 * (1.0 + factor) * precision * recall / (factor * precision + recall)
    }
}

// ---------------------------------------------------------------------------------------------
// ROUGE-L

/// Precision, recall and F-measure of one row (fractions, 0 to 1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

/// `rouge_score`'s tokenizer without a stemmer: lower case, every run of characters other
/// than `a-z0-9` a separator.
fn rouge_tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// ROUGE-L of `prediction` against `target` (`RougeScorer(["rougeL"]).score(target,
/// prediction)`): from the longest common subsequence of their tokens; all 0 when either has
/// no tokens.
pub fn rouge_l(target: &str, prediction: &str) -> Prf {
    let t = rouge_tokens(target);
    let p = rouge_tokens(prediction);
    if t.is_empty() || p.is_empty() {
        return Prf::default();
    }
    let lcs = lcs_len(&t, &p);
    let precision = lcs as f64 / p.len() as f64;
    let recall = lcs as f64 / t.len() as f64;
    let fmeasure = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Prf {
        precision,
        recall,
        fmeasure,
    }
}

/// Length of the longest common subsequence, in O(len(b)) memory.
fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { up.max(row[j]) };
            diagonal = up;
        }
    }
    row[b.len()]
}

// ---------------------------------------------------------------------------------------------
// Classification

/// Accuracy, macro-F1 and the confusion matrix of predicted labels against true ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Every label of either column, sorted (the confusion matrix's order).
    pub labels: Vec<String>,
    /// `confusion[i][j]`: rows whose true label is `labels[i]` predicted as `labels[j]`.
    pub confusion: Vec<Vec<u64>>,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Per label, in `labels`' order.
    pub f1: Vec<f64>,
}

impl Classification {
    /// The metrics of `predicted` against `truth`, row by row.
    pub fn of<S: AsRef<str>>(truth: &[S], predicted: &[S]) -> Result<Self, MetricError> {
        if truth.len() != predicted.len() {
            return Err(MetricError::LengthMismatch {
                outputs: predicted.len(),
                references: truth.len(),
            });
        }
        if truth.is_empty() {
            return Err(MetricError::Empty);
        }
        let index: BTreeMap<&str, usize> = truth
            .iter()
            .chain(predicted)
            .map(|s| (s.as_ref(), 0))
            .collect::<BTreeMap<_, _>>()
            .into_keys()
            .enumerate()
            .map(|(i, l)| (l, i))
            .collect();
        let n = index.len();
        let mut confusion = vec![vec![0u64; n]; n];
        for (t, p) in truth.iter().zip(predicted) {
            // Both are keys of `index` by construction.
            if let (Some(&i), Some(&j)) = (index.get(t.as_ref()), index.get(p.as_ref())) {
                confusion[i][j] += 1;
            }
        }
        let correct: u64 = (0..n).map(|i| confusion[i][i]).sum();
        let f1: Vec<f64> = (0..n)
            .map(|i| {
                let tp = confusion[i][i] as f64;
                let false_negatives = confusion[i].iter().sum::<u64>() as f64 - tp;
                let false_positives = confusion.iter().map(|r| r[i]).sum::<u64>() as f64 - tp;
                // scikit-learn's 2tp / (2tp + fp + fn); its zero_division case (no true and no
                // predicted row of the label) cannot occur for a label taken from the rows.
                let denominator = 2.0 * tp + false_positives + false_negatives;
                if denominator > 0.0 {
                    2.0 * tp / denominator
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Classification {
            labels: index.into_keys().map(str::to_owned).collect(),
            confusion,
            accuracy: correct as f64 / truth.len() as f64,
            macro_f1: f1.iter().sum::<f64>() / n as f64,
            f1,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Spearman

/// Ranks from 1, ties given the mean of their ranks (`scipy.stats.rankdata`'s "average").
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) hold equal values: ranks i+1..=j, their mean.
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}

/// Spearman's rank correlation of `x` and `y` (`scipy.stats.spearmanr(x, y).statistic`):
/// Pearson's correlation of their average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64, MetricError> {
    if x.len() != y.len() {
        return Err(MetricError::LengthMismatch {
            outputs: x.len(),
            references: y.len(),
        });
    }
    if x.len() < 2 {
        return Err(MetricError::Undefined("fewer than two rows"));
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(MetricError::Undefined("a value is not a finite number"));
    }
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return Err(MetricError::Undefined("a column is constant"));
    }
    // Rounding can put |r| a hair above 1; scipy clips it too.
    Ok((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jiwer_splits_on_spaces_and_runs_of_whitespace_only() {
        assert_eq!(jiwer_words("  a  b c "), ["a", "b", "c"]);
        assert_eq!(jiwer_words("a\tb"), ["a\tb"]);
        assert_eq!(jiwer_words("a\t\tb"), ["a", "b"]);
        assert_eq!(jiwer_words("\ta b\n"), ["a", "b"]);
        assert!(jiwer_words("").is_empty());
        assert!(jiwer_words(" \t ").is_empty());
    }

    #[test]
    fn edit_distance_and_lcs() {
        let w = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(edit_distance(&w("a b c"), &w("a x c d")), 2);
        assert_eq!(edit_distance::<u8>(&[], &[1, 2]), 2);
        assert_eq!(lcs_len(&w("a b c d"), &w("b d e")), 2);
    }

    #[test]
    fn metric_names_round_trip_and_fit_their_tasks() {
        for m in Metric::ALL {
            assert_eq!(m.as_str().parse::<Metric>(), Ok(m));
            for &t in m.tasks() {
                assert_eq!(m.check_task(t), Ok(m));
            }
        }
        assert_eq!("ROUGE-L".parse::<Metric>(), Ok(Metric::RougeL));
        assert!(matches!(
            "bleu".parse::<Metric>(),
            Err(MetricError::Unknown(_))
        ));
        assert!(matches!(
            Metric::Wer.check_task(Task::Translation),
            Err(MetricError::WrongTask { .. })
        ));
        for t in Task::ALL {
            if let Some(m) = Metric::default_for(t) {
                assert_eq!(m.check_task(t), Ok(m));
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            Classification::of::<&str>(&[], &[]),
            Err(MetricError::Empty)
        );
        assert!(matches!(
            Classification::of(&["a"], &["a", "b"]),
            Err(MetricError::LengthMismatch { .. })
        ));
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_err());
        assert!(spearman(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
        assert!(spearman(&[1.0], &[1.0]).is_err());
    }
}
