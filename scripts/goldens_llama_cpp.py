"""Golden outputs of llama.cpp (through llama-cpp-python) for the text-generation tests.

For 3 prompts (one raw, two through the GGUF's chat template rendered by Jinja2 the way
transformers renders it, one of them with non-ASCII text): the prompt's token ids, 64 greedy
new tokens (EOS ignored, so every prompt has 64), and at each of those 64 positions the 20
largest logits and the top-2 margin. Plus the token ids of a set of strings (whitespace runs,
digits, code, emoji, CJK, special tokens) with special tokens parsed, as for prompts.

usage: goldens_llama_cpp.py MODEL.gguf OUT_DIR
"""

import hashlib
import json
import sys

import jinja2
import llama_cpp
import numpy as np

N_NEW = 64
TOP = 20

PROMPTS = [
    {"name": "raw", "raw": "The capital of France is"},
    {"name": "chat", "messages": [{"role": "user", "content": "What is the capital of France?"}]},
    {
        "name": "chat_non_ascii",
        "messages": [
            {"role": "user", "content": "Écris une phrase sur la mer 🌊 et traduis « bonjour » en 日本語."}
        ],
    },
]

TOKENIZATION = [
    "",
    " ",
    "   ",
    "\t\t",
    "\n\n\n",
    " \n \t x",
    "Hello world",
    " Hello, world!",
    "12345 67 8.90 1,000,000",
    "3.14159e-10",
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) { s += a[i]; }",
    "fn main() { println!(\"{}\", 42); }",
    "emoji 🌊🦙😶‍🌫️ ✅ 👍🏽",
    "漢字とかなカナ、中文句子。한국어",
    "Привет, мир! Ünïcödé çà et là",
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>text<|im_end|> <|im_start|>",
    "don't won't it's we'll they've I'm you'd",
    "a" * 50,
]


def render(template: str, messages, bos: str, eos: str) -> str:
    # As transformers' apply_chat_template: trim_blocks, lstrip_blocks, loop controls.
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, bos_token=bos, eos_token=eos)


def main() -> None:
    model_path, out_dir = sys.argv[1], sys.argv[2]
    sha = hashlib.sha256(open(model_path, "rb").read()).hexdigest()
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=512, n_threads=2, n_batch=512, logits_all=True, verbose=False)
    template = llm.metadata["tokenizer.chat_template"]
    vocab = llm._model.vocab if hasattr(llm._model, "vocab") else None
    bos = llm.detokenize([llm.token_bos()], special=True).decode() if llm.token_bos() >= 0 else ""
    eos = llm.detokenize([llm.token_eos()], special=True).decode() if llm.token_eos() >= 0 else ""
    del vocab

    prompts = []
    for p in PROMPTS:
        text = p["raw"] if "raw" in p else render(template, p["messages"], bos, eos)
        ids = llm.tokenize(text.encode(), add_bos="raw" in p, special=True)
        llm.reset()
        llm.eval(ids)
        generated, steps = [], []
        for _ in range(N_NEW):
            logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            order = np.argsort(-logits, kind="stable")[:TOP]
            token = int(order[0])
            steps.append(
                {
                    "top": [[int(i), round(float(logits[i]), 5)] for i in order],
                    "margin": round(float(logits[order[0]] - logits[order[1]]), 5),
                }
            )
            generated.append(token)
            llm.eval([token])
        entry = {"name": p["name"], "text": text, "prompt_ids": ids, "generated_ids": generated, "steps": steps}
        if "messages" in p:
            entry["messages"] = p["messages"]
        prompts.append(entry)
        print(p["name"], len(ids), "prompt tokens:", repr(llm.detokenize(generated).decode(errors="replace")))

    tokens = [{"text": t, "ids": llm.tokenize(t.encode(), add_bos=False, special=True)} for t in TOKENIZATION]

    meta = {
        "generator": "scripts/goldens-llama-cpp.sh (llama-cpp-python %s)" % llama_cpp.__version__,
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "model_sha256": sha,
    }
    with open(f"{out_dir}/llama_cpp_generation.json", "w") as f:
        json.dump({**meta, "new_tokens": N_NEW, "top": TOP, "prompts": prompts}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(f"{out_dir}/llama_cpp_tokenization.json", "w") as f:
        json.dump({**meta, "cases": tokens}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
