// The inference worker's loader (a module worker). It picks the threaded build of the worker's
// wasm when the page is cross-origin isolated (SharedArrayBuffer available), the
// single-threaded build otherwise, and queues messages that arrive before the wasm is running.
const queued = [];
self.onmessage = (e) => queued.push(e);

const threaded = self.crossOriginIsolated === true && typeof SharedArrayBuffer !== "undefined";

async function start() {
  const base = threaded ? "./mt/" : "./st/";
  const mod = await import(base + "lantern_worker.js");
  await mod.default();
  let threads = 1;
  if (threaded) {
    threads = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));
    await mod.initThreadPool(threads);
  }
  // `start` replaces self.onmessage with the Rust handler and returns it, so queued messages
  // are delivered in order.
  const handler = mod.start(threads);
  for (const e of queued) handler(e);
}

start().catch((err) => {
  self.postMessage(JSON.stringify({
    type: "error",
    code: "internal",
    message: `the model worker failed to start: ${err && err.message ? err.message : err}`,
    request: null,
  }));
});
