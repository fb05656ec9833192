// The inference worker's loader (a module worker). It picks the threaded build of the worker's
// wasm when the page is cross-origin isolated (SharedArrayBuffer available), the
// single-threaded build otherwise, and queues messages that arrive before the wasm is running.
const queued = [];
self.onmessage = (e) => queued.push(e);

const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer !== "undefined";
// The page's `?backend=` (auto, cpu, webgpu), passed on in the worker's URL.
const choice = new URL(self.location.href).searchParams.get("backend") || "auto";

// Only the single-threaded build has the WebGPU backend (in a browser wgpu needs a build without
// atomics), so it is taken whenever the GPU may be used: when forced, or on `auto` with a
// hardware adapter. A fallback (software) adapter such as SwiftShader is slower than the CPU,
// and the worker's own choice (which sees the same `isFallbackAdapter`) would not use it, so
// such pages keep their threads.
async function mayUseGpu() {
  if (choice === "webgpu") return true;
  if (choice !== "auto" || !self.navigator || !self.navigator.gpu) return false;
  try {
    const adapter = await self.navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) return false;
    const fallback = adapter.info ? adapter.info.isFallbackAdapter : adapter.isFallbackAdapter;
    return fallback !== true;
  } catch (_) {
    return false;
  }
}

async function start() {
  const threaded = isolated && !(await mayUseGpu());
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
