#!/usr/bin/env bash
# Builds the browser runtime into target/web/app: the page (Leptos) and the worker's wasm
# twice — single-threaded (st/) and threaded for cross-origin-isolated pages (mt/: nightly,
# build-std, atomics, wasm-bindgen-rayon; TOOLCHAIN.md §8). `lantern build` copies this folder
# into every Space it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export PATH="$PWD/tools/npm/node_modules/.bin:$PATH"

out=target/web/app
nightly=$(cat scripts/nightly-toolchain)

# LANTERN_WEB_BUILD=fast (the tests use it): the page without fat LTO and with parallel
# codegen, a shorter build for a slightly bigger page. (The worker is built that way always:
# the worker profile in Cargo.toml says why.) Spaces you publish should use the default build.
if [[ "${LANTERN_WEB_BUILD:-release}" == fast ]]; then
  export CARGO_PROFILE_WASM_PAGE_LTO=false CARGO_PROFILE_WASM_PAGE_CODEGEN_UNITS=16
fi

echo "build-web: page"
# What `trunk build --release` did with Trunk.toml and crates/lantern-app/index.html, done here
# without Trunk: installing Trunk from source took 9 of CI's 90 minutes and as long on a fresh
# machine before the README's first command could serve anything (ARCHITECTURE.md, "The page
# without Trunk"). The same steps: cargo in the wasm-page profile, wasm-bindgen, wasm-opt -Oz,
# content-hashed names, index.html with the stylesheet, the loader and preloads carrying
# Subresource Integrity hashes, worker.js beside the worker builds.
cargo build --locked --target wasm32-unknown-unknown -p lantern-app --bin lantern-app \
  --profile wasm-page
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$staging" --out-name lantern-app \
  target/wasm32-unknown-unknown/wasm-page/lantern-app.wasm
wasm-opt --output="$staging/opt.wasm" -Oz "$staging/lantern-app_bg.wasm"
# Names change with the content, so `lantern serve` and any static host may cache them forever
# (`is_hashed` in lantern-cli's serve.rs: at least 16 hex digits).
hash16() { sha256sum "$1" | cut -c1-16; }
sri() { echo "sha384-$(openssl dgst -sha384 -binary "$1" | base64 -w0)"; }
app="lantern-app-$(hash16 "$staging/opt.wasm")"
css="lantern-$(hash16 static/lantern.css).css"
rm -rf "$out"
mkdir -p "$out/worker"
mv "$staging/opt.wasm" "$out/${app}_bg.wasm"
# The loader names its module by the output name: point it at the hashed one.
sed "s/lantern-app_bg\.wasm/${app}_bg.wasm/g" "$staging/lantern-app.js" >"$out/$app.js"
cp static/lantern.css "$out/$css"
cp static/worker.js "$out/worker/worker.js"
# index.html is Trunk's template (crates/lantern-app/index.html, also what `trunk serve`
# reads) with its comment and `data-trunk` links replaced by the built files.
links="    <link rel=\"stylesheet\" href=\"./$css\" integrity=\"$(sri "$out/$css")\"/>
    <link rel=\"modulepreload\" href=\"./$app.js\" crossorigin=\"anonymous\" integrity=\"$(sri "$out/$app.js")\">
    <link rel=\"preload\" href=\"./${app}_bg.wasm\" crossorigin=\"anonymous\" integrity=\"$(sri "$out/${app}_bg.wasm")\" as=\"fetch\" type=\"application/wasm\">
    <script type=\"module\">
import init from './$app.js';
await init({ module_or_path: './${app}_bg.wasm' });
    </script>"
LINKS=$links awk '/<!--/, /-->/ { next } /data-trunk/ { next }
  /<\/head>/ { print ENVIRON["LINKS"] } { print }' crates/lantern-app/index.html >"$out/index.html"

echo "build-web: worker, single-threaded, with the WebGPU backend"
# Only this build can hold the GPU backend (wgpu's handles are Send + Sync in a browser only
# without atomics); worker.js loads it whenever the GPU may be used.
cargo build --locked --target wasm32-unknown-unknown -p lantern-worker --features gpu \
  --profile wasm-worker
wasm-bindgen --target web --no-typescript --out-dir "$out/worker/st" \
  target/wasm32-unknown-unknown/wasm-worker/lantern_worker.wasm

echo "build-web: worker, threaded"
# RUSTFLAGS replaces the config's rustflags, so simd128 is repeated here. The link args make the
# memory shared and importable (without them the build succeeds but threads cannot work).
flags=(-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128
       -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory
       -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
       -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base)
# Never through clippy-driver (scripts/test.sh lints the other two builds through it): the
# stable toolchain's driver cannot compile against the nightly's std.
env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS RUSTFLAGS="${flags[*]}" \
  cargo "+$nightly" build --locked --target wasm32-unknown-unknown -p lantern-worker \
  --features threads --profile wasm-worker -Z build-std=panic_abort,std --target-dir target/threads
wasm-bindgen --target web --no-typescript --out-dir "$out/worker/mt" \
  target/threads/wasm32-unknown-unknown/wasm-worker/lantern_worker.wasm

du -sh "$out" "$out"/worker/st/*.wasm "$out"/worker/mt/*.wasm
