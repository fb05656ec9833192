#!/usr/bin/env python3
"""Tiny random text-classification models at real architectures, and transformers' outputs for them.

What: four small, randomly initialised sequence classifiers made with Hugging Face `transformers`
(fixed seeds), saved in the Hub layout under `tests/fixtures/text-classification/<name>/`, and the
outputs of transformers' `pipeline("text-classification", top_k=None, truncation=True)` for them,
saved as `crates/lantern-pipelines/tests/data/text_classification.golden.json`:

  tiny-bert-sst2             BertForSequenceClassification       2 labels, WordPiece, f32 weights
  tiny-distilbert-sst2       DistilBertForSequenceClassification 2 labels, WordPiece, f16 weights
  tiny-roberta-nli           RobertaForSequenceClassification    3 labels, byte-level BPE, f32, pairs
  tiny-xlm-roberta-emotions  XLMRobertaForSequenceClassification 4 labels, multi-label (sigmoid),
                             Unigram/Metaspace, bf16 weights

Why random: no genuine classifier weights can be downloaded where Lantern is built and tested, and
tiny random models at the real architectures check the same things (tensor names, layer order,
position ids, pooling heads, dtypes, tokenizers, the pipeline's post-processing) in a few hundred kB
that CI can keep in git (CI cannot install torch). The predictions mean nothing. Every parameter
is drawn (including LayerNorm weights and all biases, which a fresh HF model sets to 1 and 0), with
a spread chosen so that logits differ by O(1) between inputs: a swapped or skipped tensor changes
the scores far beyond the tolerance.

Tolerance Lantern should meet: scores within 1e-4 of these (absolute) and token ids exactly. No
two scores of one input are closer than 1e-3 (checked), so the label order is fixed as well.

Tokenizers: what transformers' converters make for the real models (BertConverter,
RobertaConverter, XLMRobertaConverter), with vocabularies trained on CORPUS. Training is made
deterministic where `tokenizers` is not (see learn_wordpiece_vocab and canonical_unigram).

Checks this script makes before it writes the goldens (it stops on the first failure):
- the ids the `tokenizers` library gives from `tokenizer.json` alone, with truncation to
  `model_max_length` (longest_first), equal the ids of transformers' tokenizer;
- the pipeline's scores equal softmax/sigmoid (NumPy, float32, as the pipeline computes them) of
  the logits of a direct forward pass, to the bit;
- the same inputs run as one padded batch give the same scores within 1e-5 (padding and position
  ids of RoBERTa/XLM-R handled);
- every input's scores are at least 1e-3 apart;
- the f16/bf16 files hold exactly the f32 model's weights rounded to that type.
Reproducibility: run it twice and compare sha256 of every file (`--check-reproducible` does
that: two runs, in separate processes, into temporary folders).

Regenerate: scripts/reference-text-classification.sh (makes the virtualenv with the pins below).
Never run by CI: the outputs are committed.

Pins (what produced the committed files; other versions may change bytes or the last bits):
  torch==2.9.1 (PyPI; its Linux wheel needs the CUDA runtime packages to import, even on a CPU)
  transformers==4.57.1  tokenizers==0.22.2  safetensors==0.6.2  numpy==2.2.6
  huggingface_hub==0.36.2  Python 3.11
"""

import os

# Before tokenizers is imported: its trainers' parallel loops would make training depend on the
# number of cores (float sums in the Unigram EM); sequential is deterministic everywhere.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import (  # noqa: E402
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

MAX_LEN = 64  # model_max_length of every fixture (tokens, special tokens included)
NAMESPACE = "lantern-fixtures"

# ---------------------------------------------------------------------------------------------
# The training corpus of the tokenizers: English sentences in the tone of the three tasks, plus
# accented words, CJK and emoji so the vocabularies hold non-ASCII pieces. Changing it changes
# every vocabulary: append-only is not enough, any edit means regenerating everything.
CORPUS = [
    "I loved this movie, the acting was wonderful and the music was great.",
    "The film was boring, too long and the ending made no sense at all.",
    "What a fantastic performance by the whole cast!",
    "This is the worst restaurant I have ever been to.",
    "The service was slow but the food was excellent.",
    "An absolute masterpiece, funny, moving and beautifully shot.",
    "I would not recommend this book to anyone.",
    "The story is simple, the characters are charming and the jokes land.",
    "It rained all day and the trip was ruined.",
    "She was happy to see her old friends again after so many years.",
    "He was angry that the train was late again.",
    "They were afraid of the dark forest behind the house.",
    "We were surprised by the sudden news this morning.",
    "A man is playing a guitar on the street.",
    "A woman is reading a book in the park.",
    "Two children are playing football in the garden.",
    "The cat is sleeping on the warm sofa.",
    "A dog runs across the field after a ball.",
    "Nobody is playing any music.",
    "The man is not reading a newspaper.",
    "Some people are eating dinner together at a long table.",
    "The weather today is cold, grey and windy.",
    "Our team won the match in the last minute!",
    "I can't believe how terrible the sequel turned out.",
    "Honestly, it's fine, nothing special, but not bad either.",
    "The hotel room was clean, quiet and comfortable.",
    "The phone stopped working after two days, a complete waste of money.",
    "Thank you so much for your help, you made my day.",
    "Why does this always happen to me?",
    "The museum opens at nine and closes at six.",
    "Scientists discovered a new species of frog in the rainforest.",
    "The concert was loud, crowded and absolutely brilliant.",
    "My flight was cancelled and nobody told us why.",
    "Wow, I did not expect that twist at all!",
    "The lighthouse keeper climbed the spiral stairs every evening at dusk.",
    "Fishing boats returned through the narrow channel between the rocks.",
    "Please read the instructions carefully before you start.",
    "The new update made the app faster and easier to use.",
    "I'm scared of spiders, snakes and very high places.",
    "What a lovely surprise, thank you!",
    "The price is too high for such a small portion.",
    "Everyone in the room started laughing.",
    # Accented words (Latin script with diacritics).
    "Café crème, crème brûlée and a croissant, s'il vous plaît.",
    "The naïve résumé was written in a café in Zürich.",
    "São Paulo, Málaga, Kraków and Reykjavík are on the list.",
    "Über die Brücke gehen wir morgen früh.",
    "El niño comió jalapeños en la señora's fiesta.",
    "La façade de l'hôtel est très élégante.",
    "Ça va très bien, merci beaucoup !",
    "Smörgåsbord, fjörd, Ærø and Øresund.",
    # CJK.
    "我喜欢这部电影。",
    "这家餐厅的服务很差。",
    "今天天气很好，我们去公园吧。",
    "東京は日本の首都です。",
    "この映画はとても面白かった！",
    "私は驚きました。",
    "한국어 문장도 조금 있습니다.",
    "정말 좋은 영화였어요!",
    # Emoji.
    "I love pizza 🍕🔥 so much 😀",
    "That was scary 😱 and I screamed 😡",
    "Great job 👍👍 see you soon ❤️",
    "Party time 🎉🥳 with friends 😂",
    "So sad today 😢 nothing works 💔",
    "Good morning ☀️ coffee ☕ and toast 🍞",
]

# ---------------------------------------------------------------------------------------------
# Inputs of the goldens. Per model, indices are referred to by the tests: append, do not reorder.
LONG = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp, "
    "a logbook and a flask of tea, and from the gallery he watched the fishing boats return "
    "through the narrow channel between the rocks while gulls circled overhead, and he wrote "
    "down the name of every boat, the hour it passed and the state of the sea, because the "
    "harbour master had asked for it and nobody else would ever do it as carefully as he did."
)
NON_ASCII = "Café crème à Zürich, naïve résumé — 我喜欢这部电影！東京 😀🍕 🦄 ñandú"
SINGLE_COMMON = [
    "I loved this movie, the acting was wonderful!",  # plain English
    "The food was cold and the service was terrible.",  # plain English
    "ok",  # short
    "",  # empty: only the special tokens
    NON_ASCII,  # accents, CJK, emoji (some never seen in training: [UNK]/<unk> or bytes)
    LONG,  # over 64 tokens: truncation matters
    "  THIS Is   GREAT!!!\tReally\n great. ",  # case, runs of spaces, tab, newline
]
PAIR_BERT = [
    ("A man is playing a guitar.", "Someone is playing music."),
    # Both sides long: longest_first takes tokens from the longer side until they are even, then
    # from both alternately.
    (LONG, LONG[:220]),
]
PAIR_NLI = [
    ("A man is playing a guitar on the street.", "A man is playing music."),
    ("A woman is reading a book in the park.", "Nobody is reading."),
    ("Two children are playing football in the garden.", "The children are inside the house."),
    ("The cat is sleeping on the warm sofa.", LONG),  # only the second side is long
    (LONG, "A man watched the boats."),  # only the first side is long
    (LONG, LONG[:220]),  # both long
    ("Café à Zürich 😀", "我喜欢这部电影"),
]


# ---------------------------------------------------------------------------------------------
# Tokenizers. Each is what transformers' converter makes for the real model's tokenizer.json
# (convert_slow_tokenizer.py: BertConverter, RobertaConverter, XLMRobertaConverter), trained on
# CORPUS instead of converted.


def learn_wordpiece_vocab(words, specials, vocab_size, prefix="##"):
    """The vocabulary `tokenizers`' WordPieceTrainer learns (its BPE trainer with a continuing
    prefix), made deterministic. The library gives a `##x` piece its id in the order it meets
    words in a hash map, and breaks ties between equally frequent merges by those ids, so three
    runs gave three different vocabularies. Here the same algorithm runs with `##x` pieces
    numbered by code point: specials, then every character, then every `##character`, both in
    code-point order (the library's own order for the first); then, until `vocab_size`, the most
    frequent adjacent pair is merged (ties: the pair with the smallest ids, as the library's
    queue does), `a` + `##b` -> `ab`, `##a` + `##b` -> `##ab`."""
    vocab = list(specials)
    chars = sorted({c for w in words for c in w})
    vocab += chars
    vocab += sorted({prefix + c for w in words for c in w[1:]})
    ids = {t: i for i, t in enumerate(vocab)}
    seqs = [([ids[w[0]]] + [ids[prefix + c] for c in w[1:]], n) for w, n in words.items()]
    while len(vocab) < vocab_size:
        counts = {}
        for seq, n in seqs:
            for pair in zip(seq, seq[1:]):
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = max(counts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))[0]
        right = vocab[best[1]]
        token = vocab[best[0]] + right.removeprefix(prefix)
        if token not in ids:
            ids[token] = len(vocab)
            vocab.append(token)
        new_id = ids[token]
        merged = []
        for seq, n in seqs:
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and (seq[i], seq[i + 1]) == best:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            merged.append((out, n))
        seqs = merged
    return {t: i for i, t in enumerate(vocab)}


def word_counts(tok):
    """The words a trainer sees: CORPUS through the tokenizer's normalizer and pre-tokenizer."""
    counts = {}
    for line in CORPUS:
        text = tok.normalizer.normalize_str(line) if tok.normalizer is not None else line
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(text):
            counts[word] = counts.get(word, 0) + 1
    return counts


def wordpiece_tokenizer(vocab_size):
    # BertConverter: BertNormalizer (clean text, CJK chars spaced, lowercase, and accents stripped
    # because strip_accents=None follows lowercase), BertPreTokenizer, WordPiece "##".
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    probe = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    probe.normalizer, probe.pre_tokenizer = normalizer, pre_tokenizer
    vocab = learn_wordpiece_vocab(word_counts(probe), specials, vocab_size)
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def byte_bpe_tokenizer(vocab_size):
    # RobertaConverter: no normalizer, ByteLevel pre-tokenizer (GPT-2 regex, no prefix space),
    # RobertaProcessing (<s> A </s> and <s> A </s></s> B </s>), ByteLevel decoder.
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0..4 as in roberta-base (bar <mask>)
    tok = Tokenizer(models.BPE(dropout=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(
        sep=("</s>", tok.token_to_id("</s>")),
        cls=("<s>", tok.token_to_id("<s>")),
        trim_offsets=True,
        add_prefix_space=False,
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    return tok


def canonical_unigram(pieces, n_special):
    """The trained Unigram pieces and scores, made independent of hash-map order. The library's
    trainer (a) sums the EM's expectations in hash-map order, so scores differ between runs in
    the last bits, and (b) gives the characters that the EM dropped but every text needs scores
    `min + 0.0001 * k` with k in hash-set order, and sorts pieces of equal score in that order
    too. Here: scores rounded to 6 decimals; those tail characters (found by their exact
    `min + 0.0001 * k` scores) numbered by code point instead; pieces sorted by score, then by
    text. The piece set is the library's (checked stable over runs)."""
    specials, rest = pieces[:n_special], pieces[n_special:]
    low = min(s for _, s in rest)
    tail_scores, penalty = set(), 0.0
    for _ in rest:  # the trainer's own float sequence, bit for bit
        tail_scores.add(low + penalty)
        penalty += 0.0001
    tail = sorted(p for p, s in rest if len(p) == 1 and s in tail_scores)
    scores = {p: round(s, 6) for p, s in rest}
    for k, p in enumerate(tail):
        scores[p] = round(round(low, 6) + k * 0.0001, 6)
    ordered = sorted(scores.items(), key=lambda ps: (-ps[1], ps[0]))
    return [(p, 0.0) for p, _ in specials] + ordered


def unigram_tokenizer(vocab_size):
    # XLMRobertaConverter: the real normalizer is the SentencePiece model's precompiled NFKC
    # charsmap then runs of spaces to one; here plain NFKC stands for the charsmap (none can be
    # compiled without sentencepiece). Metaspace "▁" prepended always, Unigram, no byte fallback.
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        unk_token="<unk>",
        show_progress=False,
        max_piece_length=16,
        n_sub_iterations=2,
        shrinking_factor=0.75,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    trained = json.loads(tok.to_str())["model"]
    assert trained["unk_id"] == specials.index("<unk>")
    vocab = canonical_unigram([tuple(p) for p in trained["vocab"]], len(specials))
    tok.model = models.Unigram(vocab, unk_id=specials.index("<unk>"), byte_fallback=False)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0 </s>:0",
        pair="<s>:0 $A:0 </s>:0 </s>:0 $B:0 </s>:0",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    return tok


# ---------------------------------------------------------------------------------------------
# Models.

SIZES = dict(hidden=32, heads=4, layers=2, intermediate=64)
# Spread of the random weights: matrices and embeddings N(0, STD); biases N(0, BIAS_STD);
# LayerNorm weights 1 + N(0, NORM_STD), LayerNorm biases N(0, BIAS_STD). With hidden 32 this
# gives logits of order 1 that move with the input (HF's own 0.02 gives near-constant logits).
STD = 0.2
BIAS_STD = 0.1
NORM_STD = 0.1


def randomize(model, seed):
    """Draws every parameter (module order, so deterministic); keeps padding rows zero as HF's
    init does."""
    g = torch.Generator().manual_seed(seed)

    def normal_(t, mean, std):
        t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float32) * std + mean)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                normal_(module.weight, 0.0, STD)
                if module.bias is not None:
                    normal_(module.bias, 0.0, BIAS_STD)
            elif isinstance(module, torch.nn.Embedding):
                normal_(module.weight, 0.0, STD)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, torch.nn.LayerNorm):
                normal_(module.weight, 1.0, NORM_STD)
                normal_(module.bias, 0.0, BIAS_STD)
    # Nothing may be left at HF's init: every floating parameter was drawn above.
    drawn = set()
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding, torch.nn.LayerNorm)):
            drawn.update(id(p) for p in module.parameters(recurse=False))
    missed = [n for n, p in model.named_parameters() if id(p) not in drawn]
    assert not missed, f"parameters not drawn: {missed}"


def labels(names):
    return {i: n for i, n in enumerate(names)}, {n: i for i, n in enumerate(names)}


def bert_model(vocab_size, pad_id, id2label, label2id):
    cfg = transformers.BertConfig(
        vocab_size=vocab_size,
        hidden_size=SIZES["hidden"],
        num_hidden_layers=SIZES["layers"],
        num_attention_heads=SIZES["heads"],
        intermediate_size=SIZES["intermediate"],
        hidden_act="gelu",
        max_position_embeddings=MAX_LEN,
        type_vocab_size=2,
        pad_token_id=pad_id,
        initializer_range=STD,
        id2label=id2label,
        label2id=label2id,
        problem_type="single_label_classification",
    )
    return transformers.BertForSequenceClassification(cfg)


def distilbert_model(vocab_size, pad_id, id2label, label2id):
    cfg = transformers.DistilBertConfig(
        vocab_size=vocab_size,
        dim=SIZES["hidden"],
        n_layers=SIZES["layers"],
        n_heads=SIZES["heads"],
        hidden_dim=SIZES["intermediate"],
        activation="gelu",
        max_position_embeddings=MAX_LEN,
        sinusoidal_pos_embds=False,
        pad_token_id=pad_id,
        initializer_range=STD,
        id2label=id2label,
        label2id=label2id,
        problem_type="single_label_classification",
    )
    return transformers.DistilBertForSequenceClassification(cfg)


def roberta_like_config(cls, vocab_size, tok, id2label, label2id, problem_type):
    return cls(
        vocab_size=vocab_size,
        hidden_size=SIZES["hidden"],
        num_hidden_layers=SIZES["layers"],
        num_attention_heads=SIZES["heads"],
        intermediate_size=SIZES["intermediate"],
        hidden_act="gelu",
        # Positions start after padding_idx (= pad_token_id = 1): 64 tokens need 66 rows.
        max_position_embeddings=MAX_LEN + 2,
        type_vocab_size=1,
        layer_norm_eps=1e-5,  # roberta-base's and xlm-roberta-base's (BERT's is 1e-12)
        pad_token_id=tok.token_to_id("<pad>"),
        bos_token_id=tok.token_to_id("<s>"),
        eos_token_id=tok.token_to_id("</s>"),
        initializer_range=STD,
        id2label=id2label,
        label2id=label2id,
        problem_type=problem_type,
    )


def roberta_model(vocab_size, tok, id2label, label2id):
    cfg = roberta_like_config(
        transformers.RobertaConfig, vocab_size, tok, id2label, label2id, "single_label_classification"
    )
    return transformers.RobertaForSequenceClassification(cfg)


def xlm_roberta_model(vocab_size, tok, id2label, label2id):
    cfg = roberta_like_config(
        transformers.XLMRobertaConfig, vocab_size, tok, id2label, label2id, "multi_label_classification"
    )
    return transformers.XLMRobertaForSequenceClassification(cfg)


# ---------------------------------------------------------------------------------------------
# The fixtures.


def model_card(name, spec, tok_desc):
    arch = spec["arch"]
    labels_line = ", ".join(f"{i}: {n}" for i, n in enumerate(spec["labels"]))
    return f"""---
license: apache-2.0
library_name: transformers
pipeline_tag: text-classification
tags:
- text-classification
- test
- random
---

# {name}

This is a random test model: its weights are random (seed {spec["seed"]}), its predictions mean nothing.

It exists so that Lantern can check its `text-classification` pipeline against Hugging Face
`transformers` on the real `{arch}` architecture without downloading a real checkpoint. Made by
`scripts/reference/text_classification.py` in the Lantern repository, which also writes the
outputs of `transformers.pipeline("text-classification", top_k=None, truncation=True)` for it.

- Architecture: `{arch}`, hidden size 32, 4 heads, 2 layers, feed-forward 64
- Weights: `model.safetensors`, {spec["dtype_desc"]}
- Labels: {labels_line} ({spec["problem_desc"]})
- Tokenizer: {tok_desc}, `model_max_length` {MAX_LEN}
"""


SPECS = {
    "tiny-bert-sst2": dict(
        arch="BertForSequenceClassification",
        seed=1001,
        labels=["NEGATIVE", "POSITIVE"],
        dtype=torch.float32,
        dtype_desc="float32",
        problem_desc="single label: softmax",
        tokenizer="wordpiece",
        tokenizer_class=transformers.BertTokenizerFast,
        inputs_single=SINGLE_COMMON,
        inputs_pair=PAIR_BERT,
    ),
    "tiny-distilbert-sst2": dict(
        arch="DistilBertForSequenceClassification",
        seed=1002,
        labels=["NEGATIVE", "POSITIVE"],
        dtype=torch.float16,
        dtype_desc="float16",
        problem_desc="single label: softmax",
        tokenizer="wordpiece",
        tokenizer_class=transformers.DistilBertTokenizerFast,
        inputs_single=SINGLE_COMMON,
        inputs_pair=PAIR_BERT[:1],
    ),
    "tiny-roberta-nli": dict(
        arch="RobertaForSequenceClassification",
        seed=1003,
        labels=["entailment", "neutral", "contradiction"],
        dtype=torch.float32,
        dtype_desc="float32",
        problem_desc="single label: softmax; premise/hypothesis pairs",
        tokenizer="bpe",
        tokenizer_class=transformers.RobertaTokenizerFast,
        inputs_single=SINGLE_COMMON,
        inputs_pair=PAIR_NLI,
    ),
    "tiny-xlm-roberta-emotions": dict(
        arch="XLMRobertaForSequenceClassification",
        seed=1004,
        labels=["joy", "anger", "fear", "surprise"],
        dtype=torch.bfloat16,
        dtype_desc="bfloat16",
        problem_desc="multi_label_classification: sigmoid per label",
        tokenizer="unigram",
        tokenizer_class=transformers.XLMRobertaTokenizerFast,
        inputs_single=SINGLE_COMMON + ["Wow, what a surprise 😱 I am so happy and a bit scared!"],
        inputs_pair=[("I am so happy today!", "Wow, what a surprise 😱")],
    ),
}

TOKENIZER_DESC = {
    "wordpiece": "WordPiece (BERT normalizer: lowercase, accents stripped, CJK split), "
    "`[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` (token types 0/1)",
    "bpe": "byte-level BPE (RoBERTa), `<s> A </s>` / `<s> A </s></s> B </s>`",
    "unigram": "Unigram with Metaspace (SentencePiece style, NFKC), `<s> A </s>` / `<s> A </s></s> B </s>`",
}

VOCAB_SIZE = {"wordpiece": 600, "bpe": 600, "unigram": 700}


def build_tokenizer(kind):
    if kind == "wordpiece":
        return wordpiece_tokenizer(VOCAB_SIZE[kind])
    if kind == "bpe":
        return byte_bpe_tokenizer(VOCAB_SIZE[kind])
    return unigram_tokenizer(VOCAB_SIZE[kind])


def hf_tokenizer(spec, tok):
    common = dict(tokenizer_object=tok, model_max_length=MAX_LEN, clean_up_tokenization_spaces=False)
    if spec["tokenizer"] == "wordpiece":
        return spec["tokenizer_class"](
            do_lower_case=True,
            tokenize_chinese_chars=True,
            strip_accents=None,
            unk_token="[UNK]",
            sep_token="[SEP]",
            pad_token="[PAD]",
            cls_token="[CLS]",
            mask_token="[MASK]",
            **common,
        )
    extra = dict(add_prefix_space=False, trim_offsets=True) if spec["tokenizer"] == "bpe" else {}
    return spec["tokenizer_class"](
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        **extra,
        **common,
    )


def build_model(name, spec, tok):
    id2label, label2id = labels(spec["labels"])
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    torch.manual_seed(spec["seed"])
    if spec["arch"].startswith("Bert"):
        model = bert_model(vocab_size, tok.token_to_id("[PAD]"), id2label, label2id)
    elif spec["arch"].startswith("DistilBert"):
        model = distilbert_model(vocab_size, tok.token_to_id("[PAD]"), id2label, label2id)
    elif spec["arch"].startswith("Roberta"):
        model = roberta_model(vocab_size, tok, id2label, label2id)
    else:
        model = xlm_roberta_model(vocab_size, tok, id2label, label2id)
    randomize(model, spec["seed"])
    model.eval()
    return model


def write_fixture(out_dir, name, spec):
    folder = os.path.join(out_dir, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    tok = build_tokenizer(spec["tokenizer"])
    hf_tok = hf_tokenizer(spec, tok)
    # tokenizer.json, tokenizer_config.json, special_tokens_map.json; no slow-tokenizer files.
    hf_tok.save_pretrained(folder, legacy_format=False)
    model = build_model(name, spec, tok)
    f32_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = model.to(spec["dtype"])
    model.save_pretrained(folder, safe_serialization=True)
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(model_card(name, spec, TOKENIZER_DESC[spec["tokenizer"]]))
    # The saved weights are the f32 model's rounded to the file's type, under HF's own names.
    from safetensors.torch import load_file

    saved = load_file(os.path.join(folder, "model.safetensors"))
    assert set(saved) <= set(f32_state), set(saved) - set(f32_state)
    for k, v in saved.items():
        assert v.dtype == spec["dtype"], (k, v.dtype)
        assert torch.equal(v, f32_state[k].to(spec["dtype"])), k
    return folder


# ---------------------------------------------------------------------------------------------
# Goldens.


def f32_list(t):
    # float(f32) is exact; Python's repr of it round-trips.
    return [float(x) for x in t.detach().float().numpy().astype(np.float32)]


def np_scores(logits, fn):
    x = np.asarray(logits, dtype=np.float32)
    if fn == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    m = np.max(x, axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


def goldens_for(folder, name, spec):
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    # Widened to float32 on purpose: left alone, the pipeline of transformers 4.57 loads the
    # weights in the dtype config.json names (float16, bfloat16) and runs in it on the CPU, which
    # moves the scores by up to 3e-4 (f16) and 5e-3 (bf16). The goldens are the f32 maths over the
    # f16/bf16 weights, which is what Lantern computes (it widens weights to f32 on load).
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    clf = transformers.pipeline("text-classification", model=model, tokenizer=tok, device="cpu")
    fn = "sigmoid" if model.config.problem_type == "multi_label_classification" else "softmax"
    raw = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    raw.enable_truncation(MAX_LEN, strategy="longest_first", direction="right")
    uses_types = "token_type_ids" in tok.model_input_names

    inputs = [{"text": t} for t in spec["inputs_single"]]
    inputs += [{"text": a, "text_pair": b} for a, b in spec["inputs_pair"]]
    cases = []
    for inp in inputs:
        pipe_in = inp["text"] if "text_pair" not in inp else dict(inp)
        enc = tok(**inp, truncation=True, return_tensors="pt")
        ids = enc["input_ids"][0].tolist()
        # tokenizer.json alone (what the Rust `tokenizers` crate reads) gives the same ids.
        r = raw.encode(inp["text"], inp.get("text_pair"))
        assert r.ids == ids, (name, inp, r.ids, ids)
        with torch.no_grad():
            logits = model(**enc).logits[0]
        scores = clf(pipe_in, top_k=None, truncation=True)
        # The pipeline's scores are softmax/sigmoid of these logits in float32 NumPy, to the bit.
        want = np_scores(logits.numpy(), fn)
        for s in scores:
            assert s["score"] == float(want[model.config.label2id[s["label"]]]), (name, inp, s)
        # Scores far enough apart that the order is fixed at the tolerance (1e-4).
        ranked = sorted((s["score"] for s in scores), reverse=True)
        gap = min(a - b for a, b in zip(ranked, ranked[1:]))
        assert gap > 1e-3, (name, inp, scores)
        case = dict(inp)
        case["ids"] = ids
        if uses_types:
            case["token_type_ids"] = enc["token_type_ids"][0].tolist()
            assert r.type_ids == case["token_type_ids"]
        case["logits"] = f32_list(logits)
        case["scores"] = scores
        cases.append(case)
        show = (inp["text"][:40] + (" | " + inp["text_pair"][:20] if "text_pair" in inp else "")).replace("\n", " ")
        print(f"  {name}: {len(ids):3} ids  {[round(x, 3) for x in case['logits']]}  {show!r}", file=sys.stderr)

    # A padded batch of all inputs gives the same scores (RoBERTa's position ids skip padding).
    batch = [c["text"] if "text_pair" not in c else {"text": c["text"], "text_pair": c["text_pair"]} for c in cases]
    batched = clf(batch, top_k=None, truncation=True, batch_size=len(batch))
    for c, b in zip(cases, batched):
        got = {s["label"]: s["score"] for s in b}
        for s in c["scores"]:
            assert abs(got[s["label"]] - s["score"]) < 1e-5, (name, c["text"][:30], s, got)

    # top_k=2 for the first input, and the shapes of the other call forms.
    top2 = clf(spec["inputs_single"][0], top_k=2, truncation=True)
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        weights_sha = hashlib.file_digest(f, "sha256").hexdigest()
    config = model.config
    return {
        "repo": f"{NAMESPACE}/{name}",
        "architecture": spec["arch"],
        "model_type": config.model_type,
        "weights_dtype": str(spec["dtype"]).removeprefix("torch."),
        "model_safetensors_sha256": weights_sha,
        "problem_type": config.problem_type,
        "function_to_apply": fn,
        "id2label": [config.id2label[i] for i in range(config.num_labels)],
        "model_max_length": tok.model_max_length,
        "model_input_names": list(tok.model_input_names),
        "cases": cases,
        "top_k_2": {"case": 0, "text": spec["inputs_single"][0], "result": top2},
    }


def call_shapes(folder):
    """What the pipeline returns for each call form (transformers 4.57), on one model."""
    clf = transformers.pipeline("text-classification", model=folder, device="cpu")
    a, b = "I loved it.", "I hated it."

    def shape(x):
        if isinstance(x, list):
            return [shape(y) for y in x] if x and isinstance(x[0], list) else f"list of {len(x)} dict"
        return "dict" if isinstance(x, dict) else type(x).__name__

    forms = {
        "clf(str)": clf(a),
        "clf([str, str])": clf([a, b]),
        "clf(str, top_k=None)": clf(a, top_k=None),
        "clf([str, str], top_k=None)": clf([a, b], top_k=None),
        "clf(str, top_k=1)": clf(a, top_k=1),
        "clf({text, text_pair}, top_k=None)": clf({"text": a, "text_pair": b}, top_k=None),
        "clf({text, text_pair})": clf({"text": a, "text_pair": b}),
    }
    out = {k: shape(v) for k, v in forms.items()}
    try:
        clf([[a, b], [a, b]])
        out["clf([[a, b], [a, b]])"] = "accepted"
    except ValueError as e:
        out["clf([[a, b], [a, b]])"] = f"ValueError: {e}"
    return out


NOTES = {
    "what": "Outputs of transformers.pipeline('text-classification', model=<folder>, top_k=None, "
    "truncation=True) for the random fixtures in tests/fixtures/text-classification/, "
    "weights widened to float32 before the forward pass (f16/bf16 files included; left to "
    "itself the pipeline would run in the file's dtype, and the scores would move by up to "
    "3e-4 (f16) and 5e-3 (bf16)).",
    "tolerance": "scores within 1e-4 absolute; token ids exact; logits are there to debug (their "
    "f32 values as Python floats).",
    "scores": "softmax over the logits unless config.problem_type is multi_label_classification "
    "(or num_labels == 1): then an independent sigmoid per label; regression: raw logits. "
    "Computed in float32 NumPy (softmax subtracts the max). Sorted by score, best first, "
    "stable (ties keep label-id order); top_k=None keeps all labels, top_k=k the first k.",
    "pairs": "a text pair is passed to the pipeline as a dict {'text': premise, 'text_pair': "
    "hypothesis}; a list of two strings is two separate texts, and a list of [a, b] lists is "
    "refused (only [[a, b]] alone is accepted, for backward compatibility).",
    "truncation": "truncation=True is longest_first to model_max_length (tokenizer_config.json), "
    "special tokens included: for a pair, tokens are taken off the end of the longer side until "
    "the sides are even, then alternately (an odd budget leaves the first side one longer); "
    "never from the start. Without truncation=True a text over 64 tokens makes the pipeline "
    "fail (position embeddings run out).",
    "token_type_ids": "only BERT's tokenizer returns them (model_input_names); DistilBERT has no "
    "segment embeddings, RoBERTa/XLM-R have type_vocab_size 1 and get none (all zero).",
    "special_tokens": "BERT/DistilBERT: [CLS] A [SEP] and [CLS] A [SEP] B [SEP] (BERT's type ids "
    "0 then 1 from the second segment on). RoBERTa: <s> A </s> and <s> A </s></s> B </s> "
    "(RobertaProcessing); XLM-R the same through TemplateProcessing. Byte-level BPE adds no "
    "prefix space, so the second segment's first word has no 'Ġ'; Metaspace prepends '▁' to "
    "each segment. The empty text gives the special tokens alone.",
    "positions": "BERT/DistilBERT: 0..n-1. RoBERTa/XLM-R: padding_idx + 1 + index over non-pad "
    "tokens (2..n+1 without padding; pad tokens get padding_idx = 1), hence 66 rows for 64 tokens.",
}


def sha_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for fn in files:
            p = os.path.join(dirpath, fn)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.file_digest(f, "sha256").hexdigest()
    return dict(sorted(out.items()))


def build_all(out_dir, golden_path):
    torch.set_num_threads(1)  # one summation order for the goldens' float maths
    torch.use_deterministic_algorithms(True)
    os.makedirs(out_dir, exist_ok=True)
    result = {
        "generator": "scripts/reference/text_classification.py (transformers pipeline on random fixtures)",
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": np.__version__,
        },
        "notes": NOTES,
        "models": {},
    }
    for name, spec in SPECS.items():
        folder = write_fixture(out_dir, name, spec)
        result["models"][name] = goldens_for(folder, name, spec)
    result["call_shapes"] = call_shapes(os.path.join(out_dir, "tiny-roberta-nli"))
    os.makedirs(os.path.dirname(os.path.abspath(golden_path)), exist_ok=True)
    with open(golden_path, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for name in SPECS:
        folder = os.path.join(out_dir, name)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print(f"{name}: {size} bytes", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/fixtures/text-classification")
    ap.add_argument("--golden", default="crates/lantern-pipelines/tests/data/text_classification.golden.json")
    ap.add_argument(
        "--check-reproducible",
        action="store_true",
        help="run twice into temporary folders and compare every file's sha256 (writes nothing else)",
    )
    args = ap.parse_args()
    if args.check_reproducible:
        # Two separate processes: the tokenizers library's hash maps are seeded per process.
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(2):
                out = os.path.join(tmp, str(i))
                cmd = [sys.executable, os.path.abspath(__file__), "--out-dir", os.path.join(out, "fixtures")]
                subprocess.run(cmd + ["--golden", os.path.join(out, "golden.json")], check=True)
                runs.append(sha_tree(out))
        if runs[0] != runs[1]:
            diff = [k for k in runs[0] if runs[0].get(k) != runs[1].get(k)]
            sys.exit(f"not reproducible: {diff}")
        for path, sha in runs[0].items():
            print(f"{sha}  {path}", file=sys.stderr)
        print(f"reproducible: {len(runs[0])} files identical across two runs", file=sys.stderr)
        return
    build_all(args.out_dir, args.golden)
    print(f"wrote {args.out_dir} and {args.golden}", file=sys.stderr)


if __name__ == "__main__":
    main()
