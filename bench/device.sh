#!/usr/bin/env bash
# The gpujs bench suite on a machine with an NVIDIA GPU, in one prepared step that finishes in minutes.
#
# Such machines here reach no registry, so everything travels with the working tree in .device/ (git-ignored):
#   bench/device.sh pack   (here, after `pnpm install`): bundles bench/src/device.ts with @minimind/tensor and
#                          gpu.js into .device/gpujs-bench.mjs (esbuild), and adds this machine's Node binary
#                          (xz) and Dawn's Node addon (the `webgpu` package gpu.js depends on, linux-x64 only).
#                          About 45 MiB.
#   bench/device.sh run    (there, from the repository root, with .device carried): unpacks Node, makes the
#                          NVIDIA Vulkan driver visible to Dawn, and runs the suite: WebGPU through Dawn on the
#                          GPU, plus gpu.js's cpu and webasm modes and the CPU backend as the peer. JSON lines go
#                          to stdout and, when $OUT is set, to $OUT/gpujs.jsonl. headless-gl is not attempted
#                          there: it needs an X server, which such machines lack; nor are the Chromium modes
#                          (@minimind/chromium-harness is left out of the bundle, and the suite logs that).
# With the device tool:  run(command="bash bench/device.sh run", carry=[".device"], timeout_s=300)
# If `ldconfig -p | grep libvulkan` prints nothing there, carry the Vulkan loader too (.gl, see the device
# tool's README) — this script unpacks .gl/*.deb when present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pack="$root/.device"

case "${1:-}" in
pack)
  rm -rf "$pack" && mkdir -p "$pack/node_modules/webgpu/dist"
  grep -qx '/.device/' "$root/.git/info/exclude" 2>/dev/null || echo '/.device/' >>"$root/.git/info/exclude"
  (cd "$root/packages/tensor" && npx tsup >/dev/null)
  esbuild="$(cd "$root/tools/chromium" && node -p 'require.resolve("esbuild")')"
  node -e '
    const esbuild = require(process.argv[1]);
    esbuild.buildSync({
      entryPoints: [process.argv[2]], outfile: process.argv[3], bundle: true, platform: "node", format: "esm",
      target: "node20", external: ["gl", "webgpu", "@minimind/chromium-harness"], logLevel: "warning",
      // gpu.js and its CommonJS dependencies call require(); give the ESM bundle one.
      banner: { js: "import { createRequire } from \"node:module\"; const require = createRequire(import.meta.url);" },
    });' "$esbuild" "$root/bench/src/device.ts" "$pack/gpujs-bench.mjs"
  webgpu="$(cd "$root/bench" && node -p 'require("path").dirname(require.resolve("webgpu", { paths: [require("path").dirname(require.resolve("gpu.js"))] }))')"
  cp "$webgpu/package.json" "$webgpu/index.js" "$pack/node_modules/webgpu/"
  cp "$webgpu/dist/linux-x64.dawn.node" "$pack/node_modules/webgpu/dist/"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >"$pack/node.xz"
  du -sh "$pack"
  ;;
run)
  [ -f "$pack/gpujs-bench.mjs" ] || { echo "device.sh: $pack is missing; run 'bench/device.sh pack' first and carry .device" >&2; exit 2; }
  if [ -d "$root/.gl" ]; then for f in "$root"/.gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
  done
  node_bin="$(command -v node || true)"
  if [ -z "$node_bin" ] || ! "$node_bin" -e 'process.exit(+process.versions.node.split(".")[0] < 20)'; then
    xz -dc "$pack/node.xz" >/tmp/minimind-node && chmod +x /tmp/minimind-node && node_bin=/tmp/minimind-node
  fi
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "device.sh: no nvidia-smi" >&2
  "$node_bin" --version >&2
  out="${OUT:-/tmp}/gpujs.jsonl"
  cd "$pack"
  GPUJS_MODULES_DIR="$pack" GPUJS_BENCH_MATMUL="${GPUJS_BENCH_MATMUL:-512}" timeout 270 "$node_bin" gpujs-bench.mjs | tee "$out"
  ;;
*)
  echo "usage: bench/device.sh pack | run" >&2
  exit 2
  ;;
esac
