#!/usr/bin/env python3
"""Tiny random translation / summarization models at real architectures, and transformers' outputs.

What: four small, randomly initialised encoder-decoder models made with Hugging Face
`transformers` (fixed seeds), saved in the Hub layout under `tests/fixtures/text2text/<name>/`
(config.json, generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
special_tokens_map.json, README.md):

  tiny-marian-en-de  MarianMTModel like Helsinki-NLP/opus-mt-en-de: sinusoidal positions (not in
                     the file), scale_embedding, swish, decoder_start_token_id = pad (last id),
                     final_logits_bias, tied embeddings, bad_words_ids [[pad]], renormalize_logits,
                     num_beams 4, forced_eos; SentencePiece-style Unigram tokenizer (`$A </s>`)
  tiny-t5            T5ForConditionalGeneration like google-t5/t5-small (v1.0): relu FFN, tied head
                     scaled by d_model^-0.5, task_specific_params (`summarize: `,
                     `translate English to German: ` ...); Unigram tokenizer with extra ids, and a
                     model vocab larger than the tokenizer's (t5-small: 32128 > 32100)
  tiny-flan-t5       T5ForConditionalGeneration like google/flan-t5-small (v1.1): gated-gelu
                     (gelu_new), untied lm_head, no head scaling; same tokenizer as tiny-t5
  tiny-bart-cnn      BartForConditionalGeneration like sshleifer/distilbart-cnn-6-6: learned positions
                     (offset 2), layernorm_embedding, gelu, forced_bos 0 / forced_eos 2, generation
                     defaults num_beams 4, length_penalty 2.0, no_repeat_ngram_size 3, min_length,
                     max_length, early_stopping true (scaled to the tiny model), config `prefix: " "`
                     (the summarization pipeline prepends it); byte-level BPE (`<s> $A </s>`)

All: d_model 32, 2 heads of d_kv 16 (sqrt(16) is exact), 2 encoder + 2 decoder layers, FFN 64,
vocabularies of 500-600 trained on CORPUS, longest input 64 tokens (max_position_embeddings for
Marian/BART, tokenizer model_max_length for all), float32 weights.

Why random: no real checkpoint can be downloaded where Lantern is built and tested, and tiny random
models at the real architectures check the same things (tensor names, layer order, positions,
scaling, tied heads, tokenizers, and above all the generation loop) in a few hundred kB that CI
keeps in git. The texts mean nothing. Every parameter is drawn (norm weights 1 + N(0, 0.1), all
biases, final_logits_bias), so logits differ by O(1). Random models rarely emit EOS, so the EOS
logit is raised (EOS_BIAS below: final_logits_bias[eos] for Marian/BART, the EOS row of the head
scaled for T5) so hypotheses end at different lengths: some cases end by EOS, some by max_length
(`ended_by` in each case; checked that both occur per model), and beam search's EOS handling,
length_penalty and early_stopping change the outputs.

Outputs (both JSON, committed):

1. crates/lantern-models/tests/data/text2text.golden.json (a plain forward pass, no generate):
   {"generator", "versions", "notes",
    "models": {NAME: {"repo": "lantern-fixtures/NAME", "architecture", "model_type",
                      "vocab_size" (model's, = logits row length), "d_model",
                      "model_safetensors_sha256",
                      "cases": [{"text": the text encoded (prefix included for T5),
                                 "input_ids": [int] (tokenizer, special tokens included),
                                 "decoder_input_ids": [int] (starts with decoder_start_token_id),
                                 "encoder_hidden": [[float] * d_model] * len(input_ids)
                                     (the encoder's last_hidden_state: after the final norm),
                                 "logits": [[float] * vocab_size] * len(decoder_input_ids)
                                     (lm_logits: final_logits_bias added, T5 scaling applied)}]}}}
   Floats rounded to 7 significant digits. Tolerance: within 1e-4 absolute.

2. crates/lantern-pipelines/tests/data/text2text.golden.json (transformers' pipelines):
   {"generator", "versions", "notes",
    "models": {NAME: {"repo", "architecture", "model_type", "model_max_length",
                      "tasks": {TASK: PIPELINE_TASK} (the pipeline task string used, e.g.
                               "translation": "translation_en_to_de"),
                      "pipeline_defaults": {TASK: GENCFG} (the pipeline's generation config before
                               any call kwargs: model generation_config + pipeline default
                               max_new_tokens 256 + task_specific_params),
                      "cases": [CASE]}}}
   CASE = {"name": short id (unique per model),
           "task": "translation" | "summarization",
           "pipeline_task": e.g. "summarization", "translation_en_to_de",
           "text": the input as given to the pipeline,
           "prefixed_text": what was tokenized (T5: task prefix + text; BART: config prefix " " + text),
           "truncation": bool (passed to the pipeline; true only in the too-long case),
           "input_ids": [int] (after truncation, special tokens included),
           "generate_kwargs": {...} exactly the kwargs given to the pipeline call (which passes them
                 to generate together with its own generation config),
           "generation_config": GENCFG, the effective config generate() ran with (after merging the
                 model's generation_config, the pipeline's defaults, task_specific_params and the
                 kwargs, and after max_new_tokens was turned into max_length),
           "logits_processors": [class names, in the order transformers applied them],
           "output_ids": [int] (generate()'s sequences[0], decoder start token included; BART: then
                 the forced BOS 0),
           "sequence_score": float | null (beam search: the winning hypothesis' score, sum of
                 log-probs / generated_len ** length_penalty; greedy: null),
           "ended_by": "eos" | "max_length" (EOS chosen by the model, or length reached max_length),
           "min_gap": float (greedy: the smallest top-1 - top-2 processed score over the steps;
                 beam: the smallest gap between consecutive candidates among the top
                 2 * num_beams + 1 accumulated scores over the steps; how far Lantern's scores
                 may drift before a choice flips),
           "text_out": tokenizer.decode(output_ids, skip_special_tokens=True,
                 clean_up_tokenization_spaces=False) (what the pipelines do),
           "pipeline_text": the pipeline's own output ("translation_text" / "summary_text"),
                 checked equal to text_out}
   GENCFG = {k: value or null} for k in GENCFG_KEYS (below). early_stopping is true, false or
   "never". max_length counts the decoder start token (and so includes it: output_ids never exceed
   it); min_length likewise.

Tolerance Lantern should meet: token ids EXACTLY (output_ids, input_ids), texts exactly; logits in
the model goldens within 1e-4.

Checks this script makes before it writes (it stops on the first failure):
- tokenizer.json alone (the `tokenizers` library, with truncation to model_max_length where the
  case truncates) gives the same ids as transformers' tokenizer, for every case's input;
- decode(generate()) equals the pipeline's output text, and generate() run again with the
  recorded effective generation config (as a GenerationConfig, no pipeline) gives the same ids;
- greedy steps: the top-1 and top-2 processed scores are at least GAP (1e-3) apart (seeds are
  fixed; a failing one is re-drawn by changing the seed in SPECS, by hand: the script says which);
- beam steps: among the candidates beam search keeps at each step (top 2 * num_beams of the
  accumulated scores, plus the next one), no two are equal (reported per case: min_gap; near-ties
  do occur between deep candidates, e.g. two beams that differ by the order of two tokens);
- every case's ids are the same when every logit is moved by uniform noise of up to NOISE (1e-4),
  in NOISE_RUNS (8) draws: the outputs do not hang on a near-tie Lantern's f32 maths could flip;
- per model, some cases end by EOS and some by max_length;
- the forward-pass logits of the last decoder position equal generate()'s first-step logits of
  the same prefix (within 1e-5; sanity of the model goldens).
Reproducibility: `--check-reproducible` runs it twice in separate processes into temporary
folders and compares every file's sha256.

Regenerate: scripts/reference-text2text.sh (makes the virtualenv with the pins below).
Never run by CI: the outputs are committed.

Pins (what produced the committed files; other versions may change bytes or the last bits):
  torch==2.9.1 (PyPI)  transformers==4.57.1  tokenizers==0.22.2  safetensors==0.6.2
  numpy==2.2.6  huggingface_hub==0.36.2  Python 3.11
"""

import os

# Before tokenizers is imported: its trainers' parallel loops would make training depend on the
# number of cores (float sums in the Unigram EM); sequential is deterministic everywhere.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse  # noqa: E402
import copy  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from text_classification import canonical_unigram  # noqa: E402  (shared: Unigram made deterministic)

warnings.filterwarnings("ignore")

MAX_LEN = 64  # model_max_length of every fixture; max_position_embeddings of Marian and BART
NAMESPACE = "lantern-fixtures"
GAP = 1e-3
NOISE = 1e-4  # logit noise the generated ids must withstand (see pipeline_goldens)
NOISE_RUNS = 8
SIZES = dict(d_model=32, heads=2, d_kv=16, layers=2, ffn=64)
# Spread of the random weights (see text_classification.py): matrices and embeddings N(0, STD),
# biases N(0, BIAS_STD), norm weights 1 + N(0, NORM_STD). T5's embeddings use T5_EMB_STD: the
# tied head scales them by d_model^-0.5, and t5's own init draws them with std 1.
STD = 0.2
BIAS_STD = 0.1
NORM_STD = 0.1
T5_EMB_STD = 1.0

# ---------------------------------------------------------------------------------------------
# The training corpus of the tokenizers: English and German sentences (translation), short news
# paragraphs (summarization) and the T5 task prefixes. Any edit changes every vocabulary.
CORPUS = [
    "translate English to German: The house is wonderful.",
    "translate English to German: The weather is cold today.",
    "translate English to French: The cat sleeps on the sofa.",
    "translate English to Romanian: The train is late again.",
    "summarize: The city council met on Monday to discuss the new budget for schools and roads.",
    "summarize: Scientists discovered a new species of frog in the rainforest last week.",
    "The house is wonderful.",
    "Das Haus ist wunderbar.",
    "The weather is cold, grey and windy today.",
    "Das Wetter ist heute kalt, grau und windig.",
    "I would like a cup of coffee, please.",
    "Ich möchte bitte eine Tasse Kaffee.",
    "The train to Berlin is late again.",
    "Der Zug nach Berlin hat wieder Verspätung.",
    "My friends and I went to the museum yesterday.",
    "Meine Freunde und ich sind gestern ins Museum gegangen.",
    "The children are playing football in the garden.",
    "Die Kinder spielen im Garten Fußball.",
    "Where is the station? It is over there, next to the bridge.",
    "Wo ist der Bahnhof? Er ist dort drüben, neben der Brücke.",
    "Thank you very much for your help.",
    "Vielen Dank für Ihre Hilfe.",
    "The book is on the table in the kitchen.",
    "Das Buch liegt auf dem Tisch in der Küche.",
    "We are going to the mountains for the weekend.",
    "Wir fahren am Wochenende in die Berge.",
    "The new school opens next year with twelve classrooms.",
    "Die neue Schule öffnet nächstes Jahr mit zwölf Klassenzimmern.",
    "She reads a newspaper every morning before work.",
    "Sie liest jeden Morgen vor der Arbeit eine Zeitung.",
    "The old lighthouse keeper climbed the spiral stairs every evening at dusk.",
    "Der alte Leuchtturmwärter stieg jeden Abend die Wendeltreppe hinauf.",
    "Fishing boats returned through the narrow channel between the rocks.",
    "Fischerboote kehrten durch den schmalen Kanal zwischen den Felsen zurück.",
    "The government announced on Tuesday that taxes on fuel will rise by five percent next spring, "
    "a decision that drivers, farmers and transport companies criticised sharply.",
    "Heavy rain caused flooding in several villages along the river, and hundreds of residents "
    "spent the night in schools and sports halls while firefighters pumped water from cellars.",
    "The football club signed a young striker from Brazil for a record fee, and the coach said "
    "he expects him to play in the first team before the end of the season.",
    "Researchers at the university found that people who walk for thirty minutes a day sleep "
    "better and feel less stressed than those who do not exercise at all.",
    "Die Regierung kündigte am Dienstag an, dass die Steuern auf Kraftstoff steigen werden.",
    "Starker Regen verursachte Überschwemmungen in mehreren Dörfern entlang des Flusses.",
    "Numbers: 1, 2, 3, 10, 2024, 3.5 and 100%.",
    "Questions? Answers! Quotes \"like this\" and (brackets) - dashes; colons: done.",
]

LONG = (
    "The old lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp, "
    "a logbook and a flask of tea, and from the gallery he watched the fishing boats return "
    "through the narrow channel between the rocks while gulls circled overhead, and he wrote "
    "down the name of every boat, the hour it passed and the state of the sea, because the "
    "harbour master had asked for it and nobody else would ever do it as carefully as he did."
)
TEXTS = [
    "The house is wonderful.",
    "The weather is cold today, and the train to Berlin is late again.",
    "Heavy rain caused flooding in several villages along the river, and hundreds of people "
    "spent the night in schools.",
    "Thank you very much for your help, my friends.",
]


# ---------------------------------------------------------------------------------------------
# Tokenizers: what transformers' converters make for the real models, trained on CORPUS.


def train_unigram(specials, vocab_size, corpus):
    tok = Tokenizer(models.Unigram())
    # The SentencePiece models' precompiled NFKC charsmap + runs of spaces to one: plain NFKC stands
    # for the charsmap (none can be compiled without sentencepiece).
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
    tok.train_from_iterator(corpus, trainer=trainer)
    trained = json.loads(tok.to_str())["model"]
    vocab = canonical_unigram([tuple(p) for p in trained["vocab"]], len(specials))
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    return tok, vocab


def marian_tokenizer():
    # opus-mt-en-de: `</s>` 0, `<unk>` 1, pieces, `<pad>` last (= decoder_start_token_id). Marian has
    # no fast tokenizer in transformers; this is the SentencePiece model as a tokenizer.json:
    # Unigram + Metaspace, `$A </s>`.
    tok, vocab = train_unigram(["</s>", "<unk>"], 499, CORPUS)
    vocab.append(("<pad>", 0.0))
    tok.model = models.Unigram(vocab, unk_id=1, byte_fallback=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["</s>", "<unk>", "<pad>"]])
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A:0 </s>:0", pair="$A:0 $B:1 </s>:1", special_tokens=[("</s>", eos)]
    )
    return tok


T5_EXTRA_IDS = 8


def t5_tokenizer():
    # T5Converter: `<pad>` 0, `</s>` 1, `<unk>` 2, pieces, then `<extra_id_{N-1}>` .. `<extra_id_0>`
    # (the last id is <extra_id_0>); `$A </s>`, pair `$A </s> $B </s>`.
    tok, vocab = train_unigram(["<pad>", "</s>", "<unk>"], 500 - T5_EXTRA_IDS, CORPUS)
    extra = [f"<extra_id_{i}>" for i in reversed(range(T5_EXTRA_IDS))]
    vocab += [(t, 0.0) for t in extra]
    tok.model = models.Unigram(vocab, unk_id=2, byte_fallback=False)
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in ["<pad>", "</s>", "<unk>"] + extra]
    )
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A:0 </s>:0", pair="$A:0 </s>:0 $B:1 </s>:1", special_tokens=[("</s>", eos)]
    )
    return tok


def bart_tokenizer():
    # RobertaConverter (BART uses it): ByteLevel pre-tokenizer without prefix space,
    # RobertaProcessing `<s> A </s>`, ByteLevel decoder; `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3,
    # `<mask>` last (bart-large: 50264).
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.BPE(dropout=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=599,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    tok.post_processor = processors.RobertaProcessing(
        sep=("</s>", tok.token_to_id("</s>")),
        cls=("<s>", tok.token_to_id("<s>")),
        trim_offsets=True,
        add_prefix_space=False,
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    return tok


def hf_tokenizer(kind, tok):
    common = dict(tokenizer_object=tok, model_max_length=MAX_LEN, clean_up_tokenization_spaces=False)
    if kind == "marian":
        return transformers.PreTrainedTokenizerFast(
            eos_token="</s>",
            unk_token="<unk>",
            pad_token="<pad>",
            model_input_names=["input_ids", "attention_mask"],  # MarianTokenizer's
            **common,
        )
    if kind == "t5":
        extra = [f"<extra_id_{i}>" for i in range(T5_EXTRA_IDS)]
        return transformers.T5TokenizerFast(
            eos_token="</s>",
            unk_token="<unk>",
            pad_token="<pad>",
            extra_ids=T5_EXTRA_IDS,
            additional_special_tokens=extra,
            **common,
        )
    return transformers.BartTokenizerFast(
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        add_prefix_space=False,
        trim_offsets=True,
        **common,
    )


# ---------------------------------------------------------------------------------------------
# Models.

T5_TASK_PARAMS = {
    # t5-small's task_specific_params, lengths scaled to the tiny model (t5-small: summarization
    # max_length 200 / min_length 30, translation max_length 300).
    "summarization": {
        "early_stopping": True,
        "length_penalty": 2.0,
        "max_length": 40,
        "min_length": 10,
        "no_repeat_ngram_size": 3,
        "num_beams": 4,
        "prefix": "summarize: ",
    },
    "translation_en_to_de": {
        "early_stopping": True,
        "max_length": 48,
        "num_beams": 4,
        "prefix": "translate English to German: ",
    },
    "translation_en_to_fr": {
        "early_stopping": True,
        "max_length": 48,
        "num_beams": 4,
        "prefix": "translate English to French: ",
    },
    "translation_en_to_ro": {
        "early_stopping": True,
        "max_length": 48,
        "num_beams": 4,
        "prefix": "translate English to Romanian: ",
    },
}

# distilbart-cnn-6-6's generation settings, lengths scaled (real: max_length 142, min_length 56).
BART_GEN = dict(
    early_stopping=True,
    length_penalty=2.0,
    max_length=40,
    min_length=10,
    no_repeat_ngram_size=3,
    num_beams=4,
)


def marian_model(tok):
    vocab = tok.get_vocab_size(with_added_tokens=True)
    pad = tok.token_to_id("<pad>")
    eos = tok.token_to_id("</s>")
    cfg = transformers.MarianConfig(
        vocab_size=vocab,
        decoder_vocab_size=vocab,
        d_model=SIZES["d_model"],
        encoder_layers=SIZES["layers"],
        decoder_layers=SIZES["layers"],
        encoder_attention_heads=SIZES["heads"],
        decoder_attention_heads=SIZES["heads"],
        encoder_ffn_dim=SIZES["ffn"],
        decoder_ffn_dim=SIZES["ffn"],
        activation_function="swish",
        max_position_embeddings=MAX_LEN,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        pad_token_id=pad,
        eos_token_id=eos,
        bos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=eos,
        init_std=0.02,
        dropout=0.1,
        attention_dropout=0.0,
        activation_dropout=0.0,
        tie_word_embeddings=True,
    )
    model = transformers.MarianMTModel(cfg)
    gen = transformers.GenerationConfig(
        bad_words_ids=[[pad]],
        bos_token_id=0,
        decoder_start_token_id=pad,
        eos_token_id=eos,
        forced_eos_token_id=eos,
        max_length=MAX_LEN,
        num_beams=4,
        pad_token_id=pad,
        renormalize_logits=True,
    )
    return model, gen, {
        # opus-mt-en-de's config.json keys that MarianConfig does not write (legacy), as on the Hub.
        "static_position_embeddings": True,
        "normalize_embedding": False,
        "normalize_before": False,
        "add_final_layer_norm": False,
        "add_bias_logits": False,
        "extra_pos_embeddings": vocab,
        "bad_words_ids": [[pad]],
        "num_beams": 4,
        "max_length": MAX_LEN,
    }


def t5_model(tok, flan):
    n_tok = tok.get_vocab_size(with_added_tokens=True)
    vocab = n_tok + 12  # like t5-small's 32128 > 32100: rows no token maps to
    kw = dict(
        vocab_size=vocab,
        d_model=SIZES["d_model"],
        d_kv=SIZES["d_kv"],
        d_ff=SIZES["ffn"],
        num_layers=SIZES["layers"],
        num_decoder_layers=SIZES["layers"],
        num_heads=SIZES["heads"],
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        dropout_rate=0.1,
        layer_norm_epsilon=1e-6,
        initializer_factor=1.0,
        pad_token_id=tok.token_to_id("<pad>"),
        eos_token_id=tok.token_to_id("</s>"),
        decoder_start_token_id=tok.token_to_id("<pad>"),
        n_positions=512,
        output_past=True,
        task_specific_params=copy.deepcopy(T5_TASK_PARAMS),
    )
    if flan:
        kw.update(feed_forward_proj="gated-gelu", tie_word_embeddings=False)
    else:
        kw.update(feed_forward_proj="relu", tie_word_embeddings=True)
    cfg = transformers.T5Config(**kw)
    model = transformers.T5ForConditionalGeneration(cfg)
    gen = transformers.GenerationConfig(
        decoder_start_token_id=cfg.decoder_start_token_id, eos_token_id=cfg.eos_token_id, pad_token_id=cfg.pad_token_id
    )
    return model, gen, {}


def bart_model(tok):
    vocab = tok.get_vocab_size(with_added_tokens=True)
    cfg = transformers.BartConfig(
        vocab_size=vocab,
        d_model=SIZES["d_model"],
        encoder_layers=SIZES["layers"],
        decoder_layers=SIZES["layers"],
        encoder_attention_heads=SIZES["heads"],
        decoder_attention_heads=SIZES["heads"],
        encoder_ffn_dim=SIZES["ffn"],
        decoder_ffn_dim=SIZES["ffn"],
        activation_function="gelu",
        max_position_embeddings=MAX_LEN,
        scale_embedding=False,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        init_std=0.02,
        dropout=0.1,
        tie_word_embeddings=True,
        task_specific_params={"summarization": dict(BART_GEN)},
    )
    model = transformers.BartForConditionalGeneration(cfg)
    gen = transformers.GenerationConfig(
        bos_token_id=0,
        decoder_start_token_id=2,
        eos_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        pad_token_id=1,
        **BART_GEN,
    )
    legacy = {
        # distilbart-cnn-6-6's legacy config.json keys, as on the Hub.
        "extra_pos_embeddings": 2,
        "force_bos_token_to_be_generated": True,
        "forced_bos_token_id": 0,
        "forced_eos_token_id": 2,
        "normalize_before": False,
        "normalize_embedding": True,
        "add_final_layer_norm": False,
        "add_bias_logits": False,
        "static_position_embeddings": False,
        "output_past": True,
        "prefix": " ",
    }
    legacy.update(BART_GEN)
    return model, gen, legacy


def randomize(model, seed, emb_std, std):
    """Draws every parameter and the final_logits_bias buffer (module order, so deterministic).
    Marian's sinusoidal position tables are left as computed: they are not in the file."""
    g = torch.Generator().manual_seed(seed)

    def normal_(t, mean, std):
        t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float32) * std + mean)

    sinusoidal = transformers.models.marian.modeling_marian.MarianSinusoidalPositionalEmbedding
    t5_norm = transformers.models.t5.modeling_t5.T5LayerNorm
    drawn = set()
    with torch.no_grad():
        for module in model.modules():
            own = [id(p) for p in module.parameters(recurse=False)]
            if own and all(i in drawn for i in own):
                continue  # tied to a module drawn before (the head to the shared embedding)
            if isinstance(module, sinusoidal):
                drawn.update(id(p) for p in module.parameters(recurse=False))
            elif isinstance(module, torch.nn.Linear):
                normal_(module.weight, 0.0, std)
                if module.bias is not None:
                    normal_(module.bias, 0.0, BIAS_STD)
            elif isinstance(module, torch.nn.Embedding):
                normal_(module.weight, 0.0, emb_std)
                if module.weight.shape[0] > 100:
                    # Token embeddings (also the tied head): rows of one norm, so that no token
                    # wins every argmax by its length alone and the outputs follow the input.
                    w = module.weight
                    w.mul_(emb_std * w.shape[1] ** 0.5 / w.norm(dim=1, keepdim=True))
            elif isinstance(module, (torch.nn.LayerNorm, t5_norm)):
                normal_(module.weight, 1.0, NORM_STD)
                if getattr(module, "bias", None) is not None:
                    normal_(module.bias, 0.0, BIAS_STD)
            else:
                continue
            drawn.update(id(p) for p in module.parameters(recurse=False))
        # The norm before the head: weights N(0, 1) instead of 1 + N(0, 0.1). With tied
        # embeddings, a head input that carries the current token's embedding (the residual)
        # scores that token highest, and random models repeat one token forever; weights of
        # mixed signs take that self-score away.
        decoder = model.get_decoder()
        last = getattr(decoder, "final_layer_norm", None) or decoder.layers[-1].final_layer_norm
        normal_(last.weight, 0.0, 1.0)
        if hasattr(model, "final_logits_bias"):
            normal_(model.final_logits_bias, 0.0, BIAS_STD)
    missed = [n for n, p in model.named_parameters() if id(p) not in drawn]
    assert not missed, f"parameters not drawn: {missed}"


def raise_eos(model, kind, eos, amount, specials):
    """Makes EOS likelier so hypotheses end (see the header). Marian/BART: final_logits_bias[eos]
    += amount. T5: the EOS row of the head (tied: the shared embedding) scaled by amount, which
    makes its logit large in either sign, so EOS wins in some states and not in others."""
    with torch.no_grad():
        if kind in ("marian", "bart"):
            model.final_logits_bias[0, eos] += amount
            # Special tokens other than EOS, which a trained model never emits, pushed down.
            for t in range(model.config.vocab_size):
                if t != eos and t in specials:
                    model.final_logits_bias[0, t] -= 5.0
        else:
            model.lm_head.weight[eos] *= amount


# Seeds re-drawn by hand: tiny-bart-cnn 2004 -> 2005 (a greedy top-2 gap of 6.4e-4 < GAP),
# tiny-t5 2002 -> 2006 (ids changed under 1e-4 logit noise). eos_amount: chosen so that cases end
# both by EOS and by max_length, at lengths spread over 3..64 (see raise_eos).
SPECS = {
    "tiny-marian-en-de": dict(
        arch="MarianMTModel", kind="marian", seed=2001, eos_amount=2.0, emb_std=STD, std=STD, tasks={"translation": "translation_en_to_de"}
    ),
    "tiny-t5": dict(
        arch="T5ForConditionalGeneration",
        kind="t5",
        flan=False,
        seed=2006,
        eos_amount=1.2,
        emb_std=T5_EMB_STD,
        std=STD,
        tasks={"summarization": "summarization", "translation": "translation_en_to_de"},
    ),
    "tiny-flan-t5": dict(
        arch="T5ForConditionalGeneration",
        kind="t5",
        flan=True,
        seed=2003,
        eos_amount=2.5,
        emb_std=T5_EMB_STD,
        std=STD,
        tasks={"summarization": "summarization", "translation": "translation_en_to_de"},
    ),
    "tiny-bart-cnn": dict(
        arch="BartForConditionalGeneration", kind="bart", seed=2005, eos_amount=2.5, emb_std=STD, std=STD, tasks={"summarization": "summarization"}
    ),
}

DESCRIPTION = {
    "tiny-marian-en-de": "MarianMTModel shaped like Helsinki-NLP/opus-mt-en-de (sinusoidal positions, "
    "scale_embedding, swish, final_logits_bias, tied embeddings, decoder start = pad)",
    "tiny-t5": "T5ForConditionalGeneration shaped like google-t5/t5-small (v1.0: relu, tied head scaled by "
    "d_model^-0.5, task_specific_params)",
    "tiny-flan-t5": "T5ForConditionalGeneration shaped like google/flan-t5-small (v1.1: gated-gelu, untied lm_head)",
    "tiny-bart-cnn": "BartForConditionalGeneration shaped like sshleifer/distilbart-cnn-6-6 (learned positions, "
    "layernorm_embedding, gelu, forced BOS/EOS, beam-search defaults)",
}


def model_card(name, spec):
    tag = "translation" if spec["kind"] == "marian" else "summarization"
    return f"""---
license: apache-2.0
library_name: transformers
pipeline_tag: {tag}
tags:
- {tag}
- test
- random
---

# {name}

This is a random test model: its weights are random (seed {spec["seed"]}), its outputs mean nothing.

It exists so that Lantern can check its translation and summarization pipelines against Hugging
Face `transformers` on the real architecture without downloading a real checkpoint. Made by
`scripts/reference/text2text.py` in the Lantern repository, which also writes transformers'
outputs for it (forward passes and `generate` through the pipelines).

- Architecture: {DESCRIPTION[name]}
- d_model {SIZES["d_model"]}, {SIZES["heads"]} heads of {SIZES["d_kv"]}, {SIZES["layers"]} encoder and {SIZES["layers"]} decoder layers, feed-forward {SIZES["ffn"]}
- Weights: `model.safetensors`, float32
- Tokenizer: `tokenizer.json` trained on a few English and German sentences, `model_max_length` {MAX_LEN}
"""


def build_tokenizers():
    return {"marian": marian_tokenizer(), "t5": t5_tokenizer(), "bart": bart_tokenizer()}


def write_fixture(out_dir, name, spec, toks):
    folder = os.path.join(out_dir, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    tok = toks[spec["kind"]]
    hf_tok = hf_tokenizer(spec["kind"], tok)
    hf_tok.save_pretrained(folder, legacy_format=False)
    torch.manual_seed(spec["seed"])
    if spec["kind"] == "marian":
        model, gen, legacy = marian_model(tok)
    elif spec["kind"] == "t5":
        model, gen, legacy = t5_model(tok, spec["flan"])
    else:
        model, gen, legacy = bart_model(tok)
    randomize(model, spec["seed"], spec["emb_std"], spec["std"])
    specials = {tok.token_to_id(t) for t in ["<s>", "<pad>", "<unk>", "<mask>"]} - {None}
    raise_eos(model, spec["kind"], model.config.eos_token_id, spec["eos_amount"], specials)
    if spec["kind"] == "t5":
        # The rows past the tokenizer (t5-small: 32100..32127) are never trained: zero, so their
        # logit is 0 and loses to the ~400 others (checked: no output id is past the tokenizer).
        n_tok = tok.get_vocab_size(with_added_tokens=True)
        with torch.no_grad():
            model.shared.weight[n_tok:] = 0.0
            model.lm_head.weight[n_tok:] = 0.0
    model.eval()
    model.generation_config = gen
    model.save_pretrained(folder, safe_serialization=True)
    if legacy:
        # The legacy generation keys the real config.json files carry (save_pretrained of 4.57
        # moves them to generation_config.json; the Hub's files predate that).
        path = os.path.join(folder, "config.json")
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg.update(legacy)
        cfg = dict(sorted(cfg.items()))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(model_card(name, spec))
    return folder


# ---------------------------------------------------------------------------------------------
# Goldens.

GENCFG_KEYS = [
    "max_length",
    "max_new_tokens",
    "min_length",
    "min_new_tokens",
    "num_beams",
    "do_sample",
    "length_penalty",
    "early_stopping",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "bad_words_ids",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "renormalize_logits",
    "decoder_start_token_id",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "num_return_sequences",
]


def r7(x):
    return float(f"{float(x):.7g}")


def rows(t):
    return [[r7(x) for x in row] for row in t.detach().float().numpy().tolist()]


def gencfg_dict(cfg):
    out = {}
    for k in GENCFG_KEYS:
        v = getattr(cfg, k, None)
        if isinstance(v, torch.Tensor):
            v = v.tolist()
        if isinstance(v, list) and len(v) == 1 and k.endswith("_token_id"):
            v = v[0]
        out[k] = v
    return out


def load(folder):
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return tok, model


class Recorder:
    """Hooks on one model: the generation config and logits processors generate() built, and the
    tie checks of beam search's candidate selection."""

    def __init__(self, model):
        self.model = model
        self.config = None
        self.processors = None
        self.min_beam_gap = float("inf")
        self.checking = True
        orig_lp = model._get_logits_processor
        orig_topk = model._get_top_k_continuations

        def get_logits_processor(generation_config, *a, **kw):
            procs = orig_lp(generation_config, *a, **kw)
            self.config = copy.deepcopy(generation_config)
            self.processors = [type(p).__name__ for p in procs]
            return procs

        def top_k(accumulated_log_probs, *a, **kw):
            if not self.checking:
                return orig_topk(accumulated_log_probs, *a, **kw)
            k = kw["beams_to_keep"] + 1
            vals = torch.topk(accumulated_log_probs, k=k, dim=-1).values[0]
            # Live candidates only: beams 2.. start at -1e9 (all beams begin as one sequence), and
            # finished ones are pushed to -1e9; ties among those cannot change the output.
            finite = vals[vals > -1e8]
            if finite.numel() > 1:
                gap = float((finite[:-1] - finite[1:]).min())
                assert gap > 0, f"exact tie among kept beam candidates: {finite.tolist()}"
                self.min_beam_gap = min(self.min_beam_gap, gap)
            return orig_topk(accumulated_log_probs, *a, **kw)

        model._get_logits_processor = get_logits_processor
        model._get_top_k_continuations = top_k


def model_cases(name, spec):
    texts = [TEXTS[0], TEXTS[1]]
    if spec["kind"] == "t5":
        texts = [T5_TASK_PARAMS["translation_en_to_de"]["prefix"] + TEXTS[0], T5_TASK_PARAMS["summarization"]["prefix"] + TEXTS[2]]
    return texts


def model_goldens(folder, name, spec, min_gaps):
    tok, model = load(folder)
    cfg = model.config
    out_cases = []
    for text in model_cases(name, spec):
        enc = tok(text, return_tensors="pt")
        ids = enc["input_ids"]
        start = cfg.decoder_start_token_id
        # The start token then a few ordinary ids (the first pieces of the input, shifted): the
        # logits of every position are recorded.
        dec = [start] + [int(t) for t in ids[0, :5] if t != cfg.eos_token_id][:4]
        with torch.no_grad():
            out = model(input_ids=ids, decoder_input_ids=torch.tensor([dec]))
        logits = out.logits[0]
        # Sanity: decoding position by position with the cache gives the same last row.
        with torch.no_grad():
            gen = model.generate(
                ids,
                decoder_input_ids=torch.tensor([dec]),
                max_new_tokens=1,
                num_beams=1,
                do_sample=False,
                output_logits=True,
                return_dict_in_generate=True,
                min_length=0,
                no_repeat_ngram_size=0,
                forced_bos_token_id=None,
                forced_eos_token_id=None,
                bad_words_ids=None,
                repetition_penalty=1.0,
            )
        assert torch.allclose(gen.logits[0][0], logits[-1], atol=1e-5), name
        top2 = torch.topk(logits, 2, dim=-1).values
        min_gaps.append(float((top2[:, 0] - top2[:, 1]).min()))
        out_cases.append(
            {
                "text": text,
                "input_ids": ids[0].tolist(),
                "decoder_input_ids": dec,
                "encoder_hidden": rows(out.encoder_last_hidden_state[0]),
                "logits": rows(logits),
            }
        )
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    return {
        "repo": f"{NAMESPACE}/{name}",
        "architecture": spec["arch"],
        "model_type": cfg.model_type,
        "vocab_size": cfg.vocab_size,
        "d_model": cfg.d_model,
        "model_safetensors_sha256": sha,
        "cases": out_cases,
    }


def case_list(spec):
    """(name, task, text, kwargs, truncation) per case. Names are referred to by the tests."""
    main = "translation" if spec["kind"] == "marian" else "summarization"
    n = 24  # max_new_tokens of most cases
    cases = []
    for i, text in enumerate(TEXTS):
        cases.append((f"greedy_{i}", main, text, {"num_beams": 1, "max_new_tokens": n}, False))
    cases += [
        ("beam4_ngram3", main, TEXTS[1], {"num_beams": 4, "no_repeat_ngram_size": 3, "max_new_tokens": n}, False),
        ("beam4_ngram3_b", main, TEXTS[2], {"num_beams": 4, "no_repeat_ngram_size": 3, "max_new_tokens": n}, False),
        ("defaults", main, TEXTS[1], {}, False),
        ("defaults_b", main, TEXTS[3], {}, False),
        ("length_penalty_0.5", main, TEXTS[1], {"num_beams": 4, "length_penalty": 0.5, "max_new_tokens": n}, False),
        ("length_penalty_2.0", main, TEXTS[1], {"num_beams": 4, "length_penalty": 2.0, "max_new_tokens": n}, False),
        ("min_length", main, TEXTS[0], {"num_beams": 1, "min_length": 16, "max_new_tokens": n}, False),
        ("min_length_beam", main, TEXTS[0], {"num_beams": 4, "min_length": 12, "max_new_tokens": n}, False),
        ("repetition_penalty", main, TEXTS[1], {"num_beams": 1, "repetition_penalty": 1.3, "max_new_tokens": n}, False),
        ("repetition_penalty_beam", main, TEXTS[2], {"num_beams": 4, "repetition_penalty": 1.3, "max_new_tokens": n}, False),
        ("early_stopping_true", main, TEXTS[2], {"num_beams": 4, "early_stopping": True, "max_new_tokens": n}, False),
        ("early_stopping_false", main, TEXTS[2], {"num_beams": 4, "early_stopping": False, "max_new_tokens": n}, False),
        ("early_stopping_never", main, TEXTS[2], {"num_beams": 4, "early_stopping": "never", "max_new_tokens": n}, False),
        # max_length as a kwarg: honoured, unless the pipeline's own max_new_tokens (256, kept when
        # the model's generation_config has no max_length of its own: T5) overrides it.
        ("max_length_kwarg", main, TEXTS[3], {"num_beams": 1, "max_length": 12}, False),
        ("truncated", main, LONG, {"num_beams": 1, "max_new_tokens": 16}, True),
        ("truncated_beam", main, LONG, {"num_beams": 4, "max_new_tokens": 14}, True),
    ]
    if spec["kind"] == "t5":
        cases += [
            ("translation_greedy", "translation", TEXTS[0], {"num_beams": 1, "max_new_tokens": n}, False),
            ("translation_defaults", "translation", TEXTS[1], {}, False),
        ]
    if spec["kind"] == "bart":
        cases += [
            # max_length reached: forced_eos_token_id puts EOS at the last position.
            # EOS blocked until the last position, where forced_eos_token_id puts it.
            ("forced_eos_short", main, TEXTS[2], {"num_beams": 4, "max_length": 8, "min_length": 7}, False),
            ("forced_bos_greedy", main, TEXTS[0], {"num_beams": 1, "max_length": 12, "min_length": 5}, False),
        ]
    return cases


def pipeline_goldens(folder, name, spec):
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    raw = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    pipes, recorders, defaults = {}, {}, {}
    for task, ptask in spec["tasks"].items():
        # A fresh model per pipeline: the pipeline pops `prefix` out of the config's
        # task_specific_params it reads.
        model = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, dtype=torch.float32)
        model.eval()
        recorders[task] = Recorder(model)
        pipes[task] = transformers.pipeline(ptask, model=model, tokenizer=tok, device="cpu")
        defaults[task] = gencfg_dict(pipes[task].generation_config)
    eos = pipes[next(iter(pipes))].model.config.eos_token_id
    cases, greedy_gaps, beam_gaps, ended = [], [], [], set()
    for cname, task, text, kwargs, truncation in case_list(spec):
        pipe, rec, model = pipes[task], recorders[task], pipes[task].model
        rec.min_beam_gap = float("inf")
        prefixed = (pipe.prefix or "") + text
        enc = tok(prefixed, truncation=truncation, return_tensors="pt")
        ids = enc["input_ids"][0].tolist()
        if truncation:
            raw.enable_truncation(MAX_LEN)
            assert len(ids) == MAX_LEN, (name, cname, len(ids))
        else:
            raw.no_truncation()
        assert raw.encode(prefixed).ids == ids, (name, cname)
        # The pipeline (what a user calls), then generate() with the pipeline's own config.
        pout = pipe(text, truncation=truncation, **copy.deepcopy(kwargs))[0]
        ptext = pout["translation_text" if task == "translation" else "summary_text"]
        gen_cfg = copy.deepcopy(pipe.generation_config)
        with torch.no_grad():
            out = model.generate(
                **enc,
                generation_config=gen_cfg,
                return_dict_in_generate=True,
                output_scores=True,
                **copy.deepcopy(kwargs),
            )
        effective = rec.config
        seq = out.sequences[0].tolist()
        assert max(seq) < len(tok), (name, cname, "an id past the tokenizer's vocabulary", seq)
        text_out = tok.decode(seq, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        assert text_out == ptext, (name, cname, text_out, ptext)
        # The recorded effective config alone reproduces the ids.
        with torch.no_grad():
            again = model.generate(**enc, generation_config=copy.deepcopy(effective), use_model_defaults=False)
        again = again.sequences if hasattr(again, "sequences") else again
        assert again[0].tolist() == seq, (name, cname, seq, again[0].tolist())
        case_gap = rec.min_beam_gap  # from the generate() above (the pipeline's run is the same)
        # Robust to float noise: the same ids with every logit moved by up to NOISE (uniform),
        # for NOISE_RUNS draws; Lantern's f32 logits differ from torch's by far less.
        rec.checking = False
        with torch.no_grad():
            for k in range(NOISE_RUNS):
                g = torch.Generator().manual_seed(k)

                def hook(_module, _inputs, output, g=g):
                    return output + (torch.rand(output.shape, generator=g) * 2 - 1) * NOISE

                handle = model.lm_head.register_forward_hook(hook)
                try:
                    noisy = model.generate(**enc, generation_config=copy.deepcopy(effective), use_model_defaults=False)
                finally:
                    handle.remove()
                noisy = noisy.sequences if hasattr(noisy, "sequences") else noisy
                assert noisy[0].tolist() == seq, f"{name} {cname}: ids change under logit noise {NOISE}: {noisy[0].tolist()}"
        rec.checking = True
        if effective.num_beams == 1:
            case_gap = float("inf")
            for step in out.scores:
                top2 = torch.topk(step[0], 2).values
                gap = float(top2[0] - top2[1])
                assert gap >= GAP, f"{name} {cname}: greedy top-2 gap {gap}: change the seed"
                greedy_gaps.append(gap)
                case_gap = min(case_gap, gap)
            score = None
        else:
            score = float(out.sequences_scores[0])
            beam_gaps.append(case_gap)
        # At max_length with forced_eos_token_id, the last EOS is forced, not chosen.
        at_max = len(seq) >= effective.max_length
        forced = effective.forced_eos_token_id is not None
        ended_by = "eos" if seq[-1] == eos and not (at_max and forced) else "max_length"
        ended.add(ended_by)
        cases.append(
            {
                "name": cname,
                "task": task,
                "pipeline_task": spec["tasks"][task],
                "text": text,
                "prefixed_text": prefixed,
                "truncation": truncation,
                "input_ids": ids,
                "generate_kwargs": kwargs,
                "generation_config": gencfg_dict(effective),
                "logits_processors": rec.processors,
                "output_ids": seq,
                "sequence_score": None if score is None else r7(score),
                "ended_by": ended_by,
                "min_gap": float(f"{case_gap:.3g}"),
                "text_out": text_out,
                "pipeline_text": ptext,
            }
        )
        print(
            f"  {name} {cname:26} beams={effective.num_beams} len={len(seq):2}/{effective.max_length} {ended_by:10} "
            f"gap {case_gap:.2g} {text_out[:40]!r}",
            file=sys.stderr,
        )
    if os.environ.get("T2T_TUNE"):
        return None, 1, 1
    assert ended == {"eos", "max_length"}, f"{name}: cases end only by {ended}: change eos_amount"
    beam_gap = min(beam_gaps)
    result = {
        "repo": f"{NAMESPACE}/{name}",
        "architecture": spec["arch"],
        "model_type": pipes[next(iter(pipes))].model.config.model_type,
        "model_max_length": tok.model_max_length,
        "tasks": spec["tasks"],
        "pipeline_defaults": defaults,
        "cases": cases,
    }
    return result, min(greedy_gaps), beam_gap


NOTES_MODELS = {
    "what": "Forward passes (no generate) of the random fixtures in tests/fixtures/text2text/, float32.",
    "tolerance": "encoder_hidden and logits within 1e-4 absolute; values rounded to 7 significant digits.",
    "decoder_input_ids": "decoder_start_token_id first (Marian: pad, T5: pad 0, BART: </s> 2), then ids "
    "taken from the input; logits has one row per decoder position (causal).",
}

NOTES_PIPELINES = {
    "what": "transformers.pipeline(task, model=<folder>) outputs for the random fixtures in "
    "tests/fixtures/text2text/, and generate()'s ids with the same (effective) config.",
    "tolerance": "output_ids and input_ids exact; texts exact.",
    "effective_config": "The pipeline starts from the model's generation_config.json, fills values left at "
    "the library defaults from its own default (max_new_tokens 256, dropped when the model's max_length is "
    "not the global default 20), applies config.json's task_specific_params[task] (T5, BART) and then the "
    "call's kwargs; max_new_tokens becomes max_length = 1 (decoder start) + max_new_tokens.",
    "prefix": "T5: task_specific_params[task].prefix; BART (distilbart-cnn): config.json 'prefix' ' '.",
    "beam_search": "transformers 4.57 beam search: log_softmax of the logits, then the logits processors on "
    "the log-probs (renormalize_logits: log_softmax again at the end), plus the running beam score; the top "
    "2 * num_beams candidates over all beams; candidates ending in EOS among the first num_beams become "
    "finished hypotheses scored sum_logprobs / (generated_len ** length_penalty) (generated_len counts the "
    "new tokens incl. EOS, not the decoder start), the others continue (num_beams of them). Greedy: "
    "processors on the raw logits, argmax.",
    "ended_by": "'eos' when the hypothesis ended with EOS chosen by the model, 'max_length' when it reached "
    "max_length (with forced_eos_token_id the last token is then the forced EOS).",
}


def sha_tree(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for fn in files:
            p = os.path.join(dirpath, fn)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.file_digest(f, "sha256").hexdigest()
    return dict(sorted(out.items()))


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def build_all(out_dir, models_golden, pipelines_golden):
    torch.set_num_threads(1)  # one summation order for the goldens' float maths
    torch.use_deterministic_algorithms(True)
    os.makedirs(out_dir, exist_ok=True)
    toks = build_tokenizers()
    gen = "scripts/reference/text2text.py"
    mres = {"generator": gen, "versions": versions(), "notes": NOTES_MODELS, "models": {}}
    pres = {"generator": gen, "versions": versions(), "notes": NOTES_PIPELINES, "models": {}}
    report = {}
    for name, spec in SPECS.items():
        folder = write_fixture(out_dir, name, spec, toks)
        fwd_gaps = []
        mres["models"][name] = model_goldens(folder, name, spec, fwd_gaps)
        pres["models"][name], ggap, bgap = pipeline_goldens(folder, name, spec)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        report[name] = f"{size} bytes, min greedy top-2 gap {ggap:.3g}, min beam candidate gap {bgap:.3g}"
    write_json(models_golden, mres)
    write_json(pipelines_golden, pres)
    for name, line in report.items():
        print(f"{name}: {line}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="tests/fixtures/text2text")
    ap.add_argument("--models-golden", default="crates/lantern-models/tests/data/text2text.golden.json")
    ap.add_argument("--pipelines-golden", default="crates/lantern-pipelines/tests/data/text2text.golden.json")
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
                cmd += ["--models-golden", os.path.join(out, "models.json")]
                cmd += ["--pipelines-golden", os.path.join(out, "pipelines.json")]
                subprocess.run(cmd, check=True)
                runs.append(sha_tree(out))
        if runs[0] != runs[1]:
            diff = [k for k in runs[0] if runs[0].get(k) != runs[1].get(k)]
            sys.exit(f"not reproducible: {diff}")
        for path, sha in runs[0].items():
            print(f"{sha}  {path}", file=sys.stderr)
        print(f"reproducible: {len(runs[0])} files identical across two runs", file=sys.stderr)
        return
    build_all(args.out_dir, args.models_golden, args.pipelines_golden)
    print(f"wrote {args.out_dir}, {args.models_golden} and {args.pipelines_golden}", file=sys.stderr)


if __name__ == "__main__":
    main()
