// Runs a wasm32-wasip1 program under Node's WASI with the current directory preopened, so the
// simd128 kernels can be timed and profiled (`node --cpu-prof`) outside the browser, on the same
// V8 engine family. Paths given to the program must be relative to the current directory.
//
// Usage: node bench/wasi-run.mjs PROGRAM.wasm [ARGS...]
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, cwd, env } from "node:process";

const wasi = new WASI({ version: "preview1", args: argv.slice(2), env, preopens: { ".": cwd() } });
const module = await WebAssembly.compile(await readFile(argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
