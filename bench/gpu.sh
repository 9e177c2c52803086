#!/usr/bin/env bash
# bench/gpu.sh: webgrad's `kernels`, `train` and `host` bench groups on a machine with a GPU (Dawn on
# the GPU's Vulkan driver), and, where PyTorch is installed there, the same workloads in
# PyTorch (CUDA) for comparison, in one call under 8 minutes.
#
# The GPU machine has no Node and no network, so the run takes everything it needs from .gpu/,
# which this script builds here first:
#
#   bench/gpu.sh --prepare     on a dev machine with `npm ci` done (x86-64 Linux). Writes:
#     .gpu/node.xz                                  this machine's node binary, xz-compressed
#     .gpu/bench.mjs                                bench/gpu-main.ts bundled by esbuild (webgrad inlined)
#     .gpu/node_modules/webgpu/{package.json,index.js}   the `webgpu` package's loader
#     .gpu/dawn.node.xz                             node_modules/webgpu/dist/linux-x64/dawn.node, xz-compressed
#     .gpu/debs/libvulkan1_*.deb                    the Vulkan loader, for machines that lack one
#   (about 30 MB; .gpu/ is git-ignored.)
#
#   bench/gpu.sh [group ...]   on the GPU machine, from the repository root, with .gpu/ beside it.
#     Groups: kernels, train (webgpu rows only), loops, host (Dawn's null backend: the host's
#     cost per step on that machine's CPU, without TF.js); default: kernels train host.
#     Unpacks node and dawn.node into .gpu/, finds the Vulkan loader (or unpacks the carried one
#     into .gpu/sysroot) and the NVIDIA ICD, runs the groups, then bench/gpu_torch.py with the
#     python3 that has torch, and prints webgrad/PyTorch ratios. JSON results go to
#     .gpu/results/ and, when $OUT is set, to $OUT too.
#
# With the workplace's device tool:  run(command: "bash bench/gpu.sh", carry: [".gpu"], timeout_s: 540)
#
# Time limits (seconds, override by env): GPU_BENCH_NODE_TIMEOUT=330, GPU_BENCH_TORCH_TIMEOUT=110.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gpu="$root/.gpu"

prepare() {
  set -e
  cd "$root"
  mkdir -p "$gpu/node_modules/webgpu/dist/linux-x64" "$gpu/debs"
  echo "bundling the bench..."
  npx tsx bench/gpu-bundle.ts "$gpu"
  echo "copying the webgpu package's loader..."
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$gpu/node_modules/webgpu/"
  local dawn=node_modules/webgpu/dist/linux-x64/dawn.node
  if [ ! -f "$gpu/dawn.node.xz" ] || [ "$dawn" -nt "$gpu/dawn.node.xz" ]; then
    echo "compressing dawn.node..."
    xz -T0 -6 -c "$dawn" >"$gpu/dawn.node.xz"
  fi
  local node_bin
  node_bin="$(command -v node)"
  if [ ! -f "$gpu/node.xz" ] || [ "$node_bin" -nt "$gpu/node.xz" ] || [ "$(cat "$gpu/node.version" 2>/dev/null)" != "$(node -v)" ]; then
    echo "compressing $node_bin ($(node -v))..."
    xz -T0 -6 -c "$node_bin" >"$gpu/node.xz"
    node -v >"$gpu/node.version"
  fi
  if ! ls "$gpu"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
    echo "downloading the Vulkan loader package..."
    (cd "$gpu/debs" && apt-get download libvulkan1 >/dev/null 2>&1) ||
      (apt-get update >/dev/null 2>&1 && cd "$gpu/debs" && apt-get download libvulkan1 >/dev/null 2>&1) ||
      echo "  (no libvulkan1 package: the GPU machine must have its own Vulkan loader)"
  fi
  rm -rf "$gpu/results"
  du -sh "$gpu"
  echo "ready: carry .gpu and run 'bash bench/gpu.sh' on the GPU machine"
}

run() {
  cd "$root"
  local groups=("$@")
  [ ${#groups[@]} -eq 0 ] && groups=(kernels train host)
  for f in node.xz dawn.node.xz bench.mjs node_modules/webgpu/index.js; do
    [ -f "$gpu/$f" ] || { echo "missing .gpu/$f: run 'bench/gpu.sh --prepare' on a dev machine and carry .gpu"; exit 1; }
  done
  local t0=$SECONDS
  # Node and dawn.node.
  if [ ! -x "$gpu/bin/node" ]; then
    mkdir -p "$gpu/bin"
    xz -dc "$gpu/node.xz" >"$gpu/bin/node" && chmod +x "$gpu/bin/node"
  fi
  [ -f "$gpu/node_modules/webgpu/dist/linux-x64/dawn.node" ] ||
    { mkdir -p "$gpu/node_modules/webgpu/dist/linux-x64" && xz -dc "$gpu/dawn.node.xz" >"$gpu/node_modules/webgpu/dist/linux-x64/dawn.node"; }
  echo "node $("$gpu/bin/node" -v), unpacked in $((SECONDS - t0)) s"

  # The Vulkan loader (Dawn dlopens libvulkan.so.1) and the NVIDIA driver's ICD.
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    local deb
    deb="$(ls "$gpu"/debs/libvulkan1_*.deb 2>/dev/null | head -1)"
    if [ -n "$deb" ]; then
      mkdir -p "$gpu/sysroot" && dpkg -x "$deb" "$gpu/sysroot"
      export LD_LIBRARY_PATH="$gpu/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      echo "Vulkan loader: carried $(basename "$deb")"
    else
      echo "warning: no libvulkan.so.1 on this machine and none carried; WebGPU will not open"
    fi
  fi
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then
        export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
        [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] &&
          export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
        echo "Vulkan ICD: $icd"
        break
      fi
    done
  fi
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

  # webgrad.
  local results="$gpu/results"
  mkdir -p "$results"
  echo
  echo "== webgrad: ${groups[*]} =="
  BENCH_RESULTS_DIR="$results" timeout "${GPU_BENCH_NODE_TIMEOUT:-330}" "$gpu/bin/node" "$gpu/bench.mjs" "${groups[@]}" 2>&1 |
    grep -v 'artificially reduced'
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 124 ] && echo "(webgrad groups stopped at the ${GPU_BENCH_NODE_TIMEOUT:-330} s limit)"
  local latest
  latest="$(ls -t "$results"/*-gpu.json 2>/dev/null | head -1)"

  # PyTorch, where installed.
  local py=""
  for cand in python3 /usr/bin/python3 /opt/torch/.venv/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import torch' 2>/dev/null; then py="$cand"; break; fi
  done
  if [ -n "$py" ]; then
    echo
    echo "== PyTorch =="
    timeout "${GPU_BENCH_TORCH_TIMEOUT:-110}" "$py" "$root/bench/gpu_torch.py" --json "$results/torch.json" ${latest:+--webgrad "$latest"}
    [ $? -eq 124 ] && echo "(PyTorch stopped at the ${GPU_BENCH_TORCH_TIMEOUT:-110} s limit)"
  else
    echo "(no python3 with torch here: PyTorch comparison skipped)"
  fi

  if [ -n "${OUT:-}" ]; then
    cp "$results"/*.json "$OUT"/ 2>/dev/null
  fi
  echo
  echo "bench/gpu.sh done in $((SECONDS - t0)) s; results in $results${OUT:+ and $OUT}"
  [ "$rc" -eq 0 ]
}

case "${1:-}" in
  --prepare) prepare ;;
  -h | --help) sed -n '2,30p' "${BASH_SOURCE[0]}" ;;
  *) run "$@" ;;
esac
