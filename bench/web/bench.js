// The browser half of bench/run.sh, scripts/bench-embeddings.sh and scripts/bench-vision.sh.
// One engine per page load (a fresh browser each, so the renderer's peak memory belongs to that
// engine alone):
//   ?engine=lantern&build=st|mt&threads=N&demo=demos/NAME.json&runs=R
//   ?engine=wllama&threads=N&model=URL&runs=R
//   ?engine=lantern-embed&build=st|mt&threads=N&demo=demos/NAME.json&runs=R
//   ?engine=onnxruntime-web&threads=N&model=models/NAME&runs=R
//   ?engine=lantern-vision&build=st|mt&threads=N&demo=demos/NAME.json&model=models/NAME&runs=R
//   ?engine=onnxruntime-web-text2text&threads=N&model=models/NAME&runs=R
//   ?engine=lantern-text2text&build=st|mt&threads=N&demo=demos/NAME.json&model=models/NAME&task=T&runs=R
// The first two run the same templated chat prompt (prompt.json, 128 tokens for SmolLM2) and
// generate 128 new tokens greedily without stopping at end-of-turn; one warm-up run, then R
// runs. The third embeds the embedding benchmark's texts (embed-corpus.json: 64 short
// sentences, 8 long texts) through the worker's `embed` request, as the embeddings page does.
// The last two are scripts/bench-vision.sh's: images/s of one image classifier on chelsea.png
// (the files of scripts/reference/bench_vision.py's `make` under models/NAME). The text2text
// two are scripts/bench-text2text.sh's: tokens/s of greedy and beam-4 decoding; their result
// is `{rows: [one per mode]}` (and `missing` when the engine cannot run).
const params = new URLSearchParams(location.search);
const engine = params.get("engine");
const threads = Number(params.get("threads") || "1");
const runs = Number(params.get("runs") || "5");
const NEW_TOKENS = 128;
const log = (msg) => { document.getElementById("log").textContent += msg + "\n"; };

// Lantern's worker with the page's build and thread count, and `next(pick)`: a promise of the
// first event (from now on) that `pick` accepts, rejected on an error event.
function lanternWorker(build) {
  const worker = new Worker(`lantern-worker.js?build=${build}&threads=${threads}`, { type: "module" });
  let waiting = null;
  const events = [];
  worker.onmessage = (e) => {
    const ev = typeof e.data === "string" ? JSON.parse(e.data) : e.data;
    events.push(ev);
    if (waiting) waiting();
  };
  // Resolves with the first event (from now on) that `pick` accepts; rejects on an error.
  const next = (pick) => new Promise((resolve, reject) => {
    const check = () => {
      while (events.length) {
        const ev = events.shift();
        if (ev.type === "error") { waiting = null; reject(new Error(`${ev.code}: ${ev.message}`)); return; }
        if (pick(ev)) { waiting = null; resolve(ev); return; }
      }
    };
    waiting = check;
    check();
  });
  return { worker, next };
}

async function wasmMemory(worker, next) {
  worker.postMessage({ memory: true });
  return (await next((ev) => ev.memory_bytes !== undefined)).memory_bytes;
}

async function lantern() {
  const build = params.get("build") || (threads > 1 ? "mt" : "st");
  const demo = await (await fetch(params.get("demo"))).json();
  const prompt = await (await fetch("prompt.json")).json();
  const { worker, next } = lanternWorker(build);
  const started = await next((ev) => ev.type === "started");
  const result = { engine: "lantern-wasm", build, threads: started.threads, runs, loads_ms: [], prefill_tok_s: [], decode_tok_s: [] };
  const messages = [
    { role: "system", content: prompt.system },
    { role: "user", content: prompt.user },
  ];
  const sampling = { temperature: 0, max_tokens: NEW_TOKENS, ignore_eos: true };
  // Each run loads the model again (from OPFS after the first, which downloads it), so every
  // prefill starts from an empty cache as llama.cpp's and wllama's do, and load times are
  // measured several times. The worker drops the previous model before loading.
  for (let run = 0; run <= runs; run++) {
    const t0 = performance.now();
    worker.postMessage(JSON.stringify({ type: "load", demo, backend: "cpu" }));
    const ready = await next((ev) => ev.type === "ready");
    const wall = performance.now() - t0;
    worker.postMessage(JSON.stringify({ type: "generate", id: run + 1, messages, params: sampling }));
    const done = await next((ev) => ev.type === "done");
    const s = done.stats;
    log(`run ${run}: load ${wall.toFixed(0)} ms, prompt ${s.prompt_tokens}, generated ${s.generated_tokens}, prefill ${s.prefill_tok_s.toFixed(1)} tok/s, decode ${s.decode_tok_s.toFixed(1)} tok/s`);
    result.prompt_tokens = s.prompt_tokens;
    result.generated_tokens = s.generated_tokens;
    if (run === 0) {
      result.first_load_ms = wall;
      result.first_load_worker_ms = ready.load_ms;
      continue;
    }
    result.loads_ms.push(wall);
    result.prefill_tok_s.push(s.prefill_tok_s);
    result.decode_tok_s.push(s.decode_tok_s);
  }
  result.wasm_memory_bytes = await wasmMemory(worker, next);
  worker.terminate();
  return result;
}

// Sentences per second through the worker: the median of R timed `embed` requests after one
// warm-up, each the whole set in one request (the worker batches it, and in the threaded
// build runs the batches side by side). The time includes posting the texts and receiving the
// vectors (64 x 384 floats as JSON), which is part of what a page pays.
async function lanternEmbed() {
  const build = params.get("build") || (threads > 1 ? "mt" : "st");
  const demo = await (await fetch(params.get("demo"))).json();
  const corpus = await (await fetch("embed-corpus.json")).json();
  const { worker, next } = lanternWorker(build);
  const started = await next((ev) => ev.type === "started");
  const t0 = performance.now();
  worker.postMessage(JSON.stringify({ type: "load", demo, backend: "cpu" }));
  await next((ev) => ev.type === "ready");
  const result = {
    engine: `lantern-wasm-worker-${build}`, build, threads: String(started.threads), runs,
    load_s: (performance.now() - t0) / 1000,
  };
  let id = 0;
  for (const [set, texts] of [["short", corpus.short], ["long", corpus.long]]) {
    const rates = [];
    for (let run = 0; run <= runs; run++) {
      id += 1;
      const t = performance.now();
      worker.postMessage(JSON.stringify({ type: "embed", id, sentences: texts }));
      const ev = await next((e) => e.type === "embeddings" && e.id === id);
      const s = (performance.now() - t) / 1000;
      log(`${set} run ${run}: ${texts.length} texts in ${(s * 1000).toFixed(0)} ms`);
      if (ev.vectors.length !== texts.length) throw new Error(`${ev.vectors.length} vectors for ${texts.length} texts`);
      if (run === 0) {
        result[`${set}_probe`] = ev.vectors[0].slice(0, 4);
        continue;
      }
      rates.push(texts.length / s);
    }
    result[`${set}_sentences_per_s`] = median(rates);
    result[`${set}_sentences_per_s_all`] = rates;
  }
  result.wasm_memory_mib = (await wasmMemory(worker, next)) / (1 << 20);
  worker.terminate();
  return result;
}

async function wllama() {
  const { Wllama } = await import("./wllama/esm/index.js");
  const prompt = await (await fetch("prompt.json")).json();
  const text = prompt.text;
  const url = new URL(params.get("model"), location.href).href;
  const w = new Wllama({ default: "./wllama/esm/wasm/wllama.wasm" }, { suppressNativeLog: true });
  const load = {
    n_threads: threads,
    // llama-bench's context is prompt + generation; 512 keeps the KV cache small like ours.
    n_ctx: 512,
    n_batch: 512,
    n_gpu_layers: 0,
  };
  let t0 = performance.now();
  await w.loadModelFromUrl(url, load);
  const first_load_ms = performance.now() - t0;
  // A second load from wllama's cache is the load time comparable to a cached page.
  await w.exit();
  t0 = performance.now();
  await w.loadModelFromUrl(url, load);
  const load_ms = performance.now() - t0;
  const result = {
    engine: "wllama", threads: w.getNumThreads(), multithread: w.isMultithread(), runs,
    first_load_ms, loads_ms: [load_ms], prefill_tok_s: [], decode_tok_s: [],
  };
  for (let run = 0; run <= runs; run++) {
    const r = await w.createCompletion({
      prompt: text, max_tokens: NEW_TOKENS, temperature: 0, top_k: 1,
      ignore_eos: true, cache_prompt: false, stream: false,
    });
    const t = r.timings;
    log(`run ${run}: prompt ${t.prompt_n}, generated ${t.predicted_n}, prefill ${t.prompt_per_second.toFixed(1)} tok/s, decode ${t.predicted_per_second.toFixed(1)} tok/s`);
    result.prompt_tokens = t.prompt_n;
    result.generated_tokens = t.predicted_n;
    if (run === 0) continue;
    result.prefill_tok_s.push(t.prompt_per_second);
    result.decode_tok_s.push(t.predicted_per_second);
  }
  await w.exit();
  return result;
}

// The vision benchmark's shared parts: the model folder's preprocessed input and torch's
// logits, the median rate, and the check that an engine computed what torch did.
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function visionFiles() {
  const dir = params.get("model");
  const reference = await (await fetch(`${dir}/reference.json`)).json();
  const pixels = new Float32Array(await (await fetch(`${dir}/pixel_values.f32`)).arrayBuffer());
  return { dir, name: dir.split("/").pop(), reference, pixels };
}
function visionResult(engine, name, reference, logits, times, extra) {
  let diff = 0;
  let top1 = 0;
  for (let i = 0; i < logits.length; i++) {
    diff = Math.max(diff, Math.abs(logits[i] - reference.logits[i]));
    if (logits[i] > logits[top1]) top1 = i;
  }
  if (logits.length !== reference.logits.length) diff = Infinity;
  return {
    engine, model: name, threads, runs, ...extra,
    images_per_s: 1000 / median(times),
    images_per_s_range: [1000 / Math.max(...times), 1000 / Math.min(...times)],
    top1, logits_max_abs_diff: diff,
  };
}

// onnxruntime-web's CPU (wasm) backend, from the npm package served under ort/ (no CDN:
// `wasmPaths` points at the local copy), on the same ONNX export as native onnxruntime: the
// session is made once, then one warm-up run and R timed runs of one image each (the tensor is
// made once: it is the same input). numThreads=1 and no proxy worker: the runs happen on the
// page's thread, as the single-threaded peer of Lantern's worker.
async function onnxruntimeWeb() {
  const ort = await import("./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  const { name, dir, reference, pixels } = await visionFiles();
  const t0 = performance.now();
  const model = new Uint8Array(await (await fetch(`${dir}/model.onnx`)).arrayBuffer());
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"], graphOptimizationLevel: "all",
  });
  const load_s = (performance.now() - t0) / 1000;
  const input = new ort.Tensor("float32", pixels, [1, ...reference.shape]);
  const feeds = { [session.inputNames[0]]: input };
  const times = [];
  let logits = null;
  for (let run = 0; run <= runs; run++) {
    const t = performance.now();
    const out = await session.run(feeds);
    const ms = performance.now() - t;
    logits = out[session.outputNames[0]].data;
    log(`run ${run}: ${ms.toFixed(1)} ms`);
    if (run > 0) times.push(ms);
  }
  await session.release();
  return visionResult("onnxruntime-web", name, reference, logits, times, {
    version: ort.env.versions.web, load_s, simd: true,
  });
}

// Lantern's worker classifying chelsea.png as the image-classification page does: the PNG's
// bytes go to the worker, which decodes and preprocesses them (the model's preprocessor
// config) before the model runs, so Lantern's time includes work (~ms) that the ONNX engines,
// given the preprocessed values, skip. The page's output is the top 5 labels with softmax
// scores, not logits: they are checked against the softmax of torch's logits instead
// (`probs_max_abs_diff`, labels mapped to classes through the model's id2label).
async function lanternVision() {
  const build = params.get("build") || (threads > 1 ? "mt" : "st");
  const { name, reference } = await visionFiles();
  const missing = (why) => ({ engine: "lantern-wasm", model: name, threads, build, missing: why });
  if (!(await fetch(`worker/${build}/lantern_worker.js`, { method: "HEAD" })).ok) {
    return missing("no worker build in the site (scripts/build-web.sh)");
  }
  const demoResponse = await fetch(params.get("demo"));
  if (!demoResponse.ok) return missing(`no ${params.get("demo")} in the site`);
  const demo = await demoResponse.json();
  const png = await (await fetch("chelsea.png")).arrayBuffer();
  const { worker, next } = lanternWorker(build);
  const started = await next((ev) => ev.type === "started");
  const t0 = performance.now();
  worker.postMessage(JSON.stringify({ type: "load", demo, backend: "cpu" }));
  try {
    await next((ev) => ev.type === "ready");
  } catch (e) {
    worker.terminate();
    return missing(`the worker cannot load it: ${e.message}`);
  }
  const load_s = (performance.now() - t0) / 1000;
  const times = [];
  let output = null;
  for (let run = 0; run <= runs; run++) {
    const buffer = png.slice(0);
    const request = { type: "run", id: run + 1, input: { task: "image-classification", image: { encoded: { bytes: { attachment: 0 } } } } };
    const t = performance.now();
    worker.postMessage({ message: JSON.stringify(request), buffers: [buffer] }, [buffer]);
    try {
      output = await next((ev) => ev.type === "output" && ev.id === run + 1);
    } catch (e) {
      worker.terminate();
      return missing(`the worker cannot run it: ${e.message}`);
    }
    const ms = performance.now() - t;
    log(`run ${run}: ${ms.toFixed(1)} ms`);
    if (run > 0) times.push(ms);
  }
  const wasm_memory_mib = (await wasmMemory(worker, next)) / (1 << 20);
  worker.terminate();
  const config = await (await fetch(`${params.get("model")}/config.json`)).json();
  const classOf = new Map(Object.entries(config.id2label || {}).map(([id, label]) => [label, Number(id)]));
  const top = Math.max(...reference.logits);
  const exps = reference.logits.map((l) => Math.exp(l - top));
  const total = exps.reduce((a, b) => a + b, 0);
  let probs_max_abs_diff = 0;
  const labels = output.output.labels || [];
  for (const { label, score } of labels) {
    const id = classOf.get(label);
    const want = id === undefined ? NaN : exps[id] / total;
    probs_max_abs_diff = Math.max(probs_max_abs_diff, Number.isFinite(want) ? Math.abs(score - want) : Infinity);
  }
  if (labels.length === 0) probs_max_abs_diff = Infinity;
  return {
    engine: "lantern-wasm", model: name, runs, build, threads: started.threads, load_s,
    wasm_memory_mib, includes_preprocessing: true,
    images_per_s: 1000 / median(times),
    images_per_s_range: [1000 / Math.max(...times), 1000 / Math.min(...times)],
    top1: classOf.get(labels[0] && labels[0].label) ?? -1, probs_max_abs_diff, labels,
  };
}

// The translation / summarization benchmark's shared parts (scripts/bench-text2text.sh): the
// model folder's bench.json (scripts/reference/bench_text2text.py `make`: the 60-token input as
// ids and as the text that tokenizes to them, 64 new tokens, transformers' ids per mode) and
// the row every engine reports, per mode: tokens/s of the whole generation (the encoder and
// every step; median of R runs after one warm-up) and whether the ids equal torch's.
const T2T_MODES = [["greedy", 1], ["beam4", 4]];
async function text2textFiles() {
  const dir = params.get("model");
  const bench = await (await fetch(`${dir}/bench.json`)).json();
  return { dir, name: dir.split("/").pop(), bench };
}
function text2textRow(engine, name, bench, mode, ids, times, firsts, extra) {
  const n = bench.new_tokens;
  const want = bench.torch[mode];
  return {
    engine, model: name, mode, threads, runs, ...extra,
    input_tokens: bench.input_ids.length, new_tokens: n,
    tokens_per_s: n * 1000 / median(times),
    tokens_per_s_range: [n * 1000 / Math.max(...times), n * 1000 / Math.min(...times)],
    first_token_s: median(firsts) / 1000,
    same_ids_as_torch: ids.length === want.length && ids.every((t, i) => t === want[i]),
  };
}

// onnxruntime-web's CPU (wasm) backend on optimum's export of the same weights, decoding as
// transformers.js does and as bench_text2text.py's `ort` does natively: the encoder once,
// decoder_model.onnx for the first step, decoder_with_past_model.onnx after it, feeding back
// the decoder's self-attention cache (`present.*.decoder.*`) and keeping the first step's
// cross-attention one (`present.*.encoder.*`). Beam search: the 4 beams are the batch, the
// cache's rows reordered by the chosen beams after each step; the scores are summed
// log-softmaxes, the best 2 x 4 candidates over all beams taken (ties: the lower index, as
// numpy's stable argsort) and the best 4 kept (no EOS: it is masked, so none finishes). EOS is
// masked at every step in both modes (min_new_tokens = new_tokens). numThreads as asked: more
// than 1 needs a cross-origin-isolated page (bench_vision.py `serve` sends COOP/COEP).
async function onnxruntimeWebText2text() {
  const ort = await import("./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  const { dir, name, bench } = await text2textFiles();
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const t0 = performance.now();
  const session = async (file) => ort.InferenceSession.create(
    new Uint8Array(await (await fetch(`${dir}/onnx/${file}`)).arrayBuffer()), options);
  const enc = await session("encoder_model.onnx");
  const dec = await session("decoder_model.onnx");
  const past = await session("decoder_with_past_model.onnx");
  const load_s = (performance.now() - t0) / 1000;
  const pastNames = past.inputNames.filter((n) => n.startsWith("past_key_values"));
  const presentOf = (n) => n.replace("past_key_values", "present");
  const { input_ids: inputIds, decoder_start_token_id: start, eos_token_id: eos, new_tokens: newTokens } = bench;
  const len = inputIds.length;
  const i64 = (values, dims) => new ort.Tensor("int64", BigInt64Array.from(values, BigInt), dims);
  // Rows of a [rows, ...] float tensor picked by index (beam reordering, and the first step's
  // one row repeated for every beam).
  const pick = (t, rows) => {
    const size = t.data.length / t.dims[0];
    const out = new Float32Array(rows.length * size);
    rows.forEach((r, i) => out.set(t.data.subarray(r * size, (r + 1) * size), i * size));
    return new ort.Tensor("float32", out, [rows.length, ...t.dims.slice(1)]);
  };

  async function generate(beams) {
    const t = performance.now();
    const x = i64(inputIds, [1, len]);
    const mask1 = i64(inputIds.map(() => 1), [1, len]);
    const hidden = (await enc.run({ input_ids: x, attention_mask: mask1 }))[enc.outputNames[0]];
    let out = await dec.run({ input_ids: i64([start], [1, 1]), encoder_hidden_states: hidden, encoder_attention_mask: mask1 });
    const first_ms = performance.now() - t;
    const vocab = out.logits.dims[2];
    // The first step's cache; each beam starts from it.
    const zeros = new Array(beams).fill(0);
    let cache = {};
    for (const n of pastNames) cache[n] = beams > 1 ? pick(out[presentOf(n)], zeros) : out[presentOf(n)];
    const mask = beams > 1 ? i64(new Array(beams * len).fill(1), [beams, len]) : mask1;
    // logits[row] of the last position, as rows of `vocab` values.
    let logits = out.logits.data;
    let rowsOf = 1;  // rows in `logits` (the first step: one, shared by every beam)
    let seqs = zeros.map(() => [start]);
    let scores = zeros.map((_, b) => (b === 0 ? 0 : -1e9));
    for (let step = 0; step < newTokens; step++) {
      let next;
      if (beams === 1) {
        let best = 0;
        let bestValue = -Infinity;
        for (let v = 0; v < vocab; v++) {
          if (v !== eos && logits[v] > bestValue) { bestValue = logits[v]; best = v; }
        }
        next = [best];
        seqs[0].push(best);
      } else {
        // The best 2 * beams of (beam, token) by summed log-probability, best first.
        const top = [];  // [score, beam, token]
        const k = 2 * beams;
        for (let b = 0; b < beams; b++) {
          const off = (rowsOf === 1 ? 0 : b) * vocab;
          let max = -Infinity;
          for (let v = 0; v < vocab; v++) max = Math.max(max, logits[off + v]);
          let sum = 0;
          for (let v = 0; v < vocab; v++) sum += Math.exp(logits[off + v] - max);
          const base = scores[b] - max - Math.log(sum);
          for (let v = 0; v < vocab; v++) {
            if (v === eos) continue;
            const s = logits[off + v] + base;
            if (top.length === k && s <= top[k - 1][0]) continue;
            let i = top.length;
            while (i > 0 && top[i - 1][0] < s) i--;
            top.splice(i, 0, [s, b, v]);
            if (top.length > k) top.pop();
          }
        }
        const kept = top.slice(0, beams);
        seqs = kept.map(([, b, v]) => [...seqs[b], v]);
        scores = kept.map(([s]) => s);
        next = kept.map(([, , v]) => v);
        const order = kept.map(([, b]) => b);
        for (const n of pastNames) if (n.includes(".decoder.")) cache[n] = pick(cache[n], order);
      }
      if (step === newTokens - 1) break;
      out = await past.run({ input_ids: i64(next, [beams, 1]), encoder_attention_mask: mask, ...cache });
      logits = out.logits.data;
      rowsOf = beams;
      for (const n of pastNames) if (n.includes(".decoder.")) cache[n] = out[presentOf(n)];
    }
    return { ids: seqs[0], ms: performance.now() - t, first_ms };
  }

  const rows = [];
  for (const [mode, beams] of T2T_MODES) {
    const times = [];
    const firsts = [];
    let ids = [];
    for (let run = 0; run <= runs; run++) {
      const r = await generate(beams);
      log(`${mode} run ${run}: ${r.ms.toFixed(0)} ms`);
      ids = r.ids;
      if (run > 0) { times.push(r.ms); firsts.push(r.first_ms); }
    }
    rows.push(text2textRow("onnxruntime-web", name, bench, mode, ids, times, firsts, {
      version: ort.env.versions.web, load_s, simd: true,
    }));
  }
  for (const s of [enc, dec, past]) await s.release();
  return { rows };
}

// Lantern's worker translating (Marian) or summarizing (T5) as the page does: a `run` request
// with bench.json's input_text (which tokenizes to exactly its 60 ids) and the options of the
// reference's generate() (64 new tokens, at least 65 with the decoder start: EOS masked until
// the last; no penalties; early_stopping false). The demo's model is served with a
// generation_config.json without the settings a request cannot turn off (scripts/
// bench-text2text.sh). The time is the request's, as the page sees it: posting it, tokenizing,
// the encoder, every step with its streamed partial text, the output.
async function lanternText2text() {
  const build = params.get("build") || (threads > 1 ? "mt" : "st");
  const { name, bench } = await text2textFiles();
  const task = params.get("task") || "translation";
  const missing = (why) => ({ rows: [], missing: { engine: "lantern-wasm", model: name, threads, build, missing: why } });
  if (!(await fetch(`worker/${build}/lantern_worker.js`, { method: "HEAD" })).ok) {
    return missing("no worker build in the site (scripts/build-web.sh)");
  }
  const demoResponse = await fetch(params.get("demo"));
  if (!demoResponse.ok) return missing(`no ${params.get("demo")} in the site`);
  const demo = await demoResponse.json();
  const { worker, next } = lanternWorker(build);
  const started = await next((ev) => ev.type === "started");
  const t0 = performance.now();
  worker.postMessage(JSON.stringify({ type: "load", demo, backend: "cpu" }));
  try {
    await next((ev) => ev.type === "ready");
  } catch (e) {
    worker.terminate();
    return missing(`the worker cannot load it: ${e.message}`);
  }
  const load_s = (performance.now() - t0) / 1000;
  const rows = [];
  let id = 0;
  for (const [mode, beams] of T2T_MODES) {
    const options = {
      num_beams: beams, max_new_tokens: bench.new_tokens, min_length: bench.new_tokens + 1,
      length_penalty: 1.0, no_repeat_ngram_size: 0, repetition_penalty: 1.0, early_stopping: false,
    };
    const times = [];
    const firsts = [];
    let output = null;
    for (let run = 0; run <= runs; run++) {
      id += 1;
      const request = { type: "run", id, input: { task, text: bench.input_text, options } };
      const t = performance.now();
      let first = null;
      worker.postMessage(JSON.stringify(request));
      try {
        output = await next((ev) => {
          if (ev.type === "partial" && ev.id === id && first === null) first = performance.now() - t;
          return ev.type === "output" && ev.id === id;
        });
      } catch (e) {
        worker.terminate();
        return missing(`the worker cannot run it: ${e.message}`);
      }
      const ms = performance.now() - t;
      log(`${mode} run ${run}: ${ms.toFixed(0)} ms, ${output.output.generated_tokens} tokens`);
      if (run > 0) { times.push(ms); firsts.push(first ?? NaN); }
    }
    const o = output.output;
    const engine = build.endsWith("-base") ? "lantern-wasm-base" : "lantern-wasm";
    rows.push(text2textRow(engine, name, bench, mode, o.tokens, times, firsts, {
      build, threads: started.threads, task, load_s,
      same_input_ids: o.input_tokens === bench.input_ids.length,
    }));
  }
  const wasm_memory_mib = (await wasmMemory(worker, next)) / (1 << 20);
  worker.terminate();
  for (const r of rows) r.wasm_memory_mib = wasm_memory_mib;
  return { rows };
}

const engines = {
  lantern, wllama, "lantern-embed": lanternEmbed,
  "onnxruntime-web": onnxruntimeWeb, "lantern-vision": lanternVision,
  "onnxruntime-web-text2text": onnxruntimeWebText2text, "lantern-text2text": lanternText2text,
};
window.benchResult = (engines[engine] || lantern)().then(
  (r) => { r.cross_origin_isolated = self.crossOriginIsolated; log(JSON.stringify(r)); return r; },
  (e) => { log(`error: ${e && e.stack ? e.stack : e}`); return { error: String(e && e.message ? e.message : e) }; },
);
