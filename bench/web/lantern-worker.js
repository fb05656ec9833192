// Lantern's worker for the benchmark page: static/worker.js with the build and the thread count
// chosen by the page (`?build=st|mt&threads=N`) instead of by cross-origin isolation, and one
// extra answer: `{memory: true}` (answered here, before the worker's own handler) is
// answered with the size of the wasm linear memory, which never shrinks, so it is the wasm
// heap's high-water mark.
const queued = [];
self.onmessage = (e) => queued.push(e);
const params = new URLSearchParams(self.location.search);
// `st`, `mt`, or `st-base` / `mt-base`: a second copy of the builds (scripts/bench-text2text.sh,
// LANTERN_BENCH_BASELINE_WORKER) for an A/B of two versions in the same run.
const build = /^(st|mt)(-base)?$/.test(params.get("build")) ? params.get("build") : "st";
const threaded = build.startsWith("mt");
const threads = Math.max(1, Number(params.get("threads") || "1"));

async function start() {
  const mod = await import(`./worker/${build}/lantern_worker.js`);
  const wasm = await mod.default();
  if (threaded) await mod.initThreadPool(threads);
  const handler = mod.start(threaded ? threads : 1);
  // The worker's own handler (`self.onmessage`, set by `start`) takes objects too (a request
  // with binary attachments is `{message, buffers}`), so the memory question is answered here
  // and never reaches it.
  const own = self.onmessage;
  self.onmessage = (e) => {
    if (e.data && typeof e.data === "object" && e.data.memory) {
      self.postMessage({ memory_bytes: wasm.memory.buffer.byteLength });
      return;
    }
    own.call(self, e);
  };
  for (const e of queued) handler(e);
}

start().catch((err) => {
  self.postMessage(JSON.stringify({ type: "error", code: "internal", message: `worker failed to start: ${err}`, request: null }));
});
