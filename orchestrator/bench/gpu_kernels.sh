#!/usr/bin/env bash
# On a GPU machine: build against the CUDA LibTorch of its PyTorch install, run the GPU test
# binaries (CUDA kernels vs the float64 reference, and the ops on CUDA tensors through torch
# and autograd), then `statetune bench kernels` (CPU paths and the CUDA kernels, one run).
# Logs go to OUT_DIR (default: $OUT when set, the device tool's output folder; else ./gpu-logs).
#   usage: bash orchestrator/bench/gpu_kernels.sh [BUILD_DIR] [CUDA_ARCH]
# Needs `.deps/` (built here by ../shared/gpu-machine/make-bundle.sh) beside the sources.
set -uo pipefail
build="${1:-build-gpu}"
arch="${2:-90a}"
out="${OUT_DIR:-${OUT:-gpu-logs}}"
mkdir -p "$out"
[ -f .deps/env.sh ] || { echo "no .deps/env.sh: run ../shared/gpu-machine/make-bundle.sh here first" >&2; exit 1; }
# shellcheck disable=SC1091
source .deps/env.sh
nvidia-smi -L 2>&1 | tee "$out/gpu.txt"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DHDF5_ROOT="${HDF5_ROOT:-}" -DSTATETUNE_BUILD_TESTS=ON >"$out/configure.log" 2>&1 \
  || { tail -30 "$out/configure.log"; exit 1; }
grep "statetune:" "$out/configure.log"
cmake --build "$build" -j "$(nproc)" --target test_gpu_wkv7 test_gpu_kernel_readout test_gpu_torch statetune \
  >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
status=0
for t in test_gpu_wkv7 test_gpu_kernel_readout test_gpu_torch; do
  echo "== $t"
  "$build/tests/$t" >"$out/$t.log" 2>&1
  rc=$?
  tail -15 "$out/$t.log"
  echo "== $t exit $rc"
  [ "$rc" -eq 0 ] || status=1
done
echo "== bench kernels"
"$build/orchestrator/statetune" bench kernels --threads "$(nproc)" --repeats 3 2>&1 | tee "$out/bench_kernels.txt"
exit "$status"
