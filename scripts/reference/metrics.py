"""Goldens of Lantern's evaluation metrics (crates/lantern-core/src/metrics.rs) from the packages
users compare with: jiwer (WER), sacrebleu (chrF), rouge-score (ROUGE-L), scikit-learn
(accuracy, macro-F1, confusion matrix), scipy (Spearman). Writes
crates/lantern-core/tests/data/metrics.golden.json; run by scripts/reference-metrics.sh, which
pins the versions. Deterministic: the inputs are written out below (no randomness), chosen for
the definitions' corners: runs of whitespace and single tabs (jiwer splits on spaces only),
punctuation and non-ASCII letters (ROUGE's tokenizer drops them, chrF keeps them), empty outputs
and references, repeated n-grams, tied labels and ranks."""

import json
import sys
from importlib.metadata import version
from pathlib import Path

import jiwer
import sacrebleu
from rouge_score import rouge_scorer
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

OUT = Path(__file__).resolve().parents[2] / "crates/lantern-core/tests/data/metrics.golden.json"

# (reference, hypothesis)
TEXT_PAIRS = [
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("the cat sat on the mat", "a cat sat on a mat"),
    ("the cat sat on the mat", "the cat sat"),
    ("the cat sat", "the cat sat on the mat today"),
    ("  spaces   everywhere  here ", "spaces everywhere\there"),
    ("tab\tinside one word", "tab inside one word"),
    ("It was the best of times, it was the worst of times.",
     "It was the best of time; it was the worst of times!"),
    ("Der schnelle braune Fuchs springt über den faulen Hund.",
     "Der schnelle braune Fuchs sprang über den faulen Hund"),
    ("Größe, Maß und Übung", "grosse mass und uebung"),
    ("東京は日本の首都です", "東京は首都です"),
    ("emoji 🙂 in text 🙂", "emoji 🙂 in 🙂 text"),
    ("a a a a b", "a a b b b"),
    ("one", ""),
    ("", "inserted words here"),
    ("", ""),
    ("Numbers 123 and 4.56 count", "numbers 123 and 456 count"),
    ("MiXeD CaSe Words", "mixed case words"),
    ("line one\nline two", "line one line two"),
    ("punctuation!!! only???", "!!! ???"),
    ("x", "y"),
]

# (true, predicted)
LABELS = [
    ("positive", "positive"), ("positive", "negative"), ("negative", "negative"),
    ("neutral", "negative"), ("neutral", "neutral"), ("positive", "positive"),
    ("negative", "positive"), ("neutral", "neutral"), ("positive", "neutral"),
    ("negative", "negative"), ("negative", "mixed"), ("positive", "positive"),
]

# (predicted similarity, gold score): ties on both sides, one negative.
SIMILARITY = [
    (0.91, 5.0), (0.85, 4.6), (0.85, 3.8), (0.42, 2.4), (0.10, 0.0),
    (0.55, 2.4), (-0.05, 0.2), (0.73, 4.0), (0.66, 3.8), (0.30, 1.0),
]


def main() -> None:
    refs = [r for r, _ in TEXT_PAIRS]
    hyps = [h for _, h in TEXT_PAIRS]

    # jiwer.wer raises on an empty reference only when all are empty; per row it returns the
    # insertion count for an empty reference (its edge case), which Lantern follows.
    wer_rows = [jiwer.wer(r, h) for r, h in TEXT_PAIRS]
    wer_corpus = jiwer.wer(refs, hyps)
    chrf = sacrebleu.metrics.CHRF()
    chrf_rows = [chrf.sentence_score(h, [r]).score for r, h in TEXT_PAIRS]
    chrf_corpus = chrf.corpus_score(hyps, [refs]).score
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge_rows = []
    for r, h in TEXT_PAIRS:
        s = scorer.score(r, h)["rougeL"]
        rouge_rows.append({"precision": s.precision, "recall": s.recall, "fmeasure": s.fmeasure})
    rouge_corpus = sum(x["fmeasure"] for x in rouge_rows) / len(rouge_rows)
    # Exact match as scikit-learn's accuracy over the strings.
    exact_rows = [accuracy_score([r], [h]) for r, h in TEXT_PAIRS]
    exact_corpus = accuracy_score(refs, hyps)

    truth = [t for t, _ in LABELS]
    pred = [p for _, p in LABELS]
    labels = sorted(set(truth) | set(pred))
    classification = {
        "truth": truth,
        "predicted": pred,
        "labels": labels,
        "accuracy": accuracy_score(truth, pred),
        "macro_f1": f1_score(truth, pred, average="macro", labels=labels, zero_division=0),
        "f1": f1_score(truth, pred, average=None, labels=labels, zero_division=0).tolist(),
        "confusion": confusion_matrix(truth, pred, labels=labels).tolist(),
    }

    x = [a for a, _ in SIMILARITY]
    y = [b for _, b in SIMILARITY]
    golden = {
        "made_by": "scripts/reference/metrics.py",
        "versions": {"python": sys.version.split()[0]}
        | {name: version(name) for name in ("jiwer", "sacrebleu", "rouge-score", "scikit-learn", "scipy")},
        "text": {
            "pairs": [{"reference": r, "hypothesis": h} for r, h in TEXT_PAIRS],
            "wer_rows": wer_rows,
            "wer_corpus": wer_corpus,
            "chrf_rows": chrf_rows,
            "chrf_corpus": chrf_corpus,
            "rouge_l_rows": rouge_rows,
            "rouge_l_corpus": rouge_corpus,
            "exact_match_rows": exact_rows,
            "exact_match_corpus": exact_corpus,
        },
        "classification": classification,
        "spearman": {"x": x, "y": y, "value": float(spearmanr(x, y).statistic)},
    }
    OUT.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
