#!/usr/bin/env bash
# The GPU proof: on a GPU machine, in one call and under 8 minutes, build statetune against the
# machine's own PyTorch and run, on the GPU,
#   1. the GPU test programs (CUDA kernels vs the float64 reference; the ops on CUDA tensors);
#   2. the golden fixture's logits (../shared/fixtures/rwkv7-tiny) with fp32 and bf16 weights,
#      from the zero state and from the fixture's tuned state;
#   3. `tune` standard and dbp on a 0.1B-shaped random model, 20 steps on the GPU against the
#      same config on the CPU (the loss curves' largest relative difference, with tolerances);
#   4. a 1-rank `--comm nccl` sweep (NCCL all-reduces the state gradients on the device);
#   5. `bench kernels` (the CUDA WKV-7 and read-out kernels at the anchor and model shapes);
#   6. `bench tune` on the GPU: 0.1B and 1.5B shapes, T = 1024, batch 1 and 8 (tokens/s and
#      the GPU's peak memory);
# and write one report ($OUT/gpu_proof_report.md) with the GPU, driver, CUDA and LibTorch
# versions, every command and every figure. Exit status 0 when every check passed.
#
# usage:
#   here (Debian, once):  bash orchestrator/bench/gpu_proof.sh prepare
#       makes .deps/ (../shared/gpu-machine/make-bundle.sh) and .proof/ (the fixture and the
#       vocabulary, which live in ../shared, which does not travel); both are git-ignored.
#   GPU machine:          bash orchestrator/bench/gpu_proof.sh run
#       (device tool: carry [".deps", ".proof"]; PyTorch at python3; the report under $OUT)
#   here, as a rehearsal: PROOF_DEVICE=cpu bash orchestrator/bench/gpu_proof.sh run build
#       the same steps on the CPU with small shapes and the existing build (the GPU programs
#       skip, NCCL is replaced by the sweep's --comm auto), to show the plumbing works.
# Environment: PROOF_DEVICE (cuda | cpu; default cuda), PROOF_ARCH (default 90: H100/H200),
# OUT (report folder; default ./gpu-proof), BUILD_DIR (second argument; default build-gpu).
set -uo pipefail
cd "$(dirname "$0")/../.."
what="${1:-}"
device="${PROOF_DEVICE:-cuda}"

prepare() {
  set -e
  [ -f .deps/env.sh ] || bash ../shared/gpu-machine/make-bundle.sh
  mkdir -p .proof
  cp ../shared/fixtures/rwkv7-tiny/{model.pth,state.pth,tokens.json,logits.npy,logits_state.npy} .proof/
  cp ../shared/data/tokenizer/rwkv_vocab_v20230424.txt .proof/
  grep -qx '/.proof/' .git/info/exclude 2>/dev/null || echo '/.proof/' >>.git/info/exclude
  du -sh .deps .proof
}

if [ "$what" = prepare ]; then prepare; exit; fi
if [ "$what" != run ]; then
  echo "usage: bash orchestrator/bench/gpu_proof.sh prepare | run [BUILD_DIR]" >&2
  exit 2
fi

start=$(date +%s)
# mpirun refuses root without these (.deps/env.sh sets them too on the GPU machine).
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
build="${2:-${BUILD_DIR:-build-gpu}}"
out="${OUT:-gpu-proof}"
mkdir -p "$out"
work="$out/work"
mkdir -p "$work"
report="$out/gpu_proof_report.md"
status=0
: >"$report"
say() { printf '%s\n' "$*" | tee -a "$report"; }
# block TITLE FILE: the file's text as a fenced block in the report.
block() {
  { printf '\n%s\n```\n' "$1"; cat "$2"; printf '```\n'; } >>"$report"
}
check() {  # check NAME OK(0/1) DETAIL
  if [ "$2" -eq 0 ]; then say "- PASS $1: $3"; else say "- FAIL $1: $3"; status=1; fi
}
elapsed() { echo "$(($(date +%s) - start)) s"; }
py=python3
[ "$device" = cpu ] && py=/usr/bin/python3

say "# statetune GPU proof ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown))"
say ""
say "device: $device"

if [ "$device" = cuda ]; then
  [ -f .deps/env.sh ] || { echo "no .deps/env.sh: run 'bash orchestrator/bench/gpu_proof.sh prepare' here first" >&2; exit 1; }
  # shellcheck disable=SC1091
  ENV_SH_QUIET=1 source .deps/env.sh
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    nvidia-smi 2>&1 | grep -m1 "CUDA Version" || true
    nvcc --version 2>&1 | tail -2
    $py -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), "NCCL", ".".join(map(str, torch.cuda.nccl.version())))' 2>&1
    echo "CPU cores: $(nproc)"
  } >"$out/versions.txt"
  block "GPU, driver, CUDA and LibTorch:" "$out/versions.txt"
  cfg=(-DCMAKE_CUDA_ARCHITECTURES="${PROOF_ARCH:-90}" -DHDF5_ROOT="${HDF5_ROOT:-}")
  targets=(statetune test_gpu_wkv7 test_gpu_kernel_readout test_gpu_torch)
else
  cfg=()
  targets=(statetune)
fi

# ---- build -------------------------------------------------------------------------------
say ""
say "## build ($build)"
if [ "$device" = cuda ] || [ ! -x "$build/orchestrator/statetune" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cfg[@]}" >"$out/configure.log" 2>&1 \
    || { tail -30 "$out/configure.log"; exit 1; }
  grep "statetune:" "$out/configure.log" | tee -a "$report"
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >"$out/build.log" 2>&1 \
    || { tail -40 "$out/build.log"; exit 1; }
fi
st="$build/orchestrator/statetune"
say "built in $(elapsed)"

# ---- 1. GPU test programs -----------------------------------------------------------------
say ""
say "## 1. GPU test programs"
for t in test_gpu_wkv7 test_gpu_kernel_readout test_gpu_torch; do
  [ -x "$build/tests/$t" ] || { say "- $t: not built (CPU rehearsal)"; continue; }
  timeout 240 "$build/tests/$t" >"$out/$t.log" 2>&1
  rc=$?
  block "$t (last lines):" <(tail -12 "$out/$t.log")
  if [ "$rc" -eq 77 ] && [ "$device" = cpu ]; then say "- skipped $t: no GPU (exit 77)"; continue; fi
  check "$t" "$([ "$rc" -eq 0 ] && echo 0 || echo 1)" "exit $rc"
done

# ---- 2. golden logits ---------------------------------------------------------------------
say ""
say "## 2. Golden fixture logits on $device"
# compare_npy GOT WANT: the largest absolute difference of two float32 .npy files (pure Python:
# numpy is not assumed).
compare_npy() {
  $py - "$1" "$2" <<'PY'
import ast, struct, sys
from array import array
def load(path):
    b = open(path, 'rb').read()
    assert b[:6] == b'\x93NUMPY', path
    n = struct.unpack('<H', b[8:10])[0] if b[6] == 1 else struct.unpack('<I', b[8:12])[0]
    start = 10 if b[6] == 1 else 12
    h = ast.literal_eval(b[start:start + n].decode())
    assert h['descr'] == '<f4' and not h['fortran_order'], h
    a = array('f'); a.frombytes(b[start + n:])
    return h['shape'], a
(sa, a), (sb, bb) = load(sys.argv[1]), load(sys.argv[2])
assert sa == sb, (sa, sb)
print(max(abs(x - y) for x, y in zip(a, bb)))
PY
}
tokens=$($py -c 'import json; print(",".join(map(str, json.load(open(".proof/tokens.json"))["tokens"])))')
for dtype in fp32 bf16; do
  for from in zero tuned; do
    args=(score --model .proof/model.pth --tokens "$tokens" --device "$device" --weights-dtype "$dtype"
          --logits-out "$work/logits_${dtype}_$from.npy")
    want=.proof/logits.npy
    [ "$from" = tuned ] && { args+=(--state .proof/state.pth); want=.proof/logits_state.npy; }
    "$st" "${args[@]}" >"$work/score_${dtype}_$from.txt" 2>&1 || { check "logits $dtype from $from" 1 "score failed"; continue; }
    diff=$(compare_npy "$work/logits_${dtype}_$from.npy" "$want")
    tol=1e-4
    [ "$dtype" = bf16 ] && tol=0.25  # bf16 weights round every matmul to 8 bits (logits of size ~5)
    ok=$($py -c "print(0 if $diff < $tol else 1)")
    check "logits $dtype weights, from the $from state" "$ok" "max |Δ| $diff vs the official fp32 logits (tolerance $tol)"
  done
done
say "command: $st score --model .proof/model.pth --tokens <tokens.json> --device $device --weights-dtype fp32|bf16 [--state .proof/state.pth] --logits-out X.npy"

# ---- 3. tune on the GPU against the CPU ---------------------------------------------------
say ""
say "## 3. tune: $device against the CPU, 20 steps"
if [ "$device" = cuda ]; then layers=12 dim=768 vocab=65536; else layers=2 dim=128 vocab=65536; fi
"$st" init-model --layers "$layers" --dim "$dim" --vocab "$vocab" --seed 1 --out "$work/model.pth" >/dev/null
$py - "$work/train.jsonl" <<'PY'
import json, sys
subjects = ["the boiling point of water", "the closest planet to the Sun", "what bees collect", "the organ that pumps blood",
            "the gas plants take in", "the force that pulls objects down", "the part of the cell with DNA", "the largest ocean"]
answers = ["100 degrees Celsius", "Mercury", "nectar", "the heart", "carbon dioxide", "gravity", "the nucleus", "the Pacific"]
with open(sys.argv[1], "w") as f:
    for i in range(32):
        s, a = subjects[i % 8], answers[i % 8]
        f.write(json.dumps({"context": f"Question {i}: What is {s}?\nAnswer:", "target": f" {a}."}) + "\n")
PY
cat >"$work/tune.yaml" <<YAML
model: model.pth
vocab: $(pwd)/.proof/rwkv_vocab_v20230424.txt
output: out/state.pth
steps: 20
batch: 4
max_tokens: 64
lr: 0.01
M: 64
calibration_examples: 16
seed: 3
data:
  benchmark: jsonl
  train: train.jsonl
YAML
curve_diff() {  # the largest relative difference of two metrics.jsonl loss curves
  $py - "$1" "$2" <<'PY'
import json, sys
a = [json.loads(l)["loss"] for l in open(sys.argv[1])]
b = [json.loads(l)["loss"] for l in open(sys.argv[2])]
assert len(a) == len(b) == 20, (len(a), len(b))
print(max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b)), a[0], a[-1])
PY
}
for method in standard dbp; do
  for run in "cpu fp32" "$device fp32" "$device bf16"; do
    set -- $run
    name="${method}_$1_$2"
    mkdir -p "$work/out"
    t0=$(date +%s%N)
    timeout 300 "$st" tune "$work/tune.yaml" method="$method" output="$work/out/$name.pth" --device "$1" \
      --weights-dtype "$2" --threads "$(nproc)" >"$work/$name.log" 2>&1 \
      || { check "tune $name" 1 "failed: $(tail -2 "$work/$name.log" | tr '\n' ' ')"; continue; }
    awk -v ns="$(($(date +%s%N) - t0))" 'BEGIN { printf "%.1f", ns / 1e9 }' >"$work/$name.time"
  done
  for dtype in fp32 bf16; do
    got="$work/out/${method}_${device}_$dtype.pth.metrics.jsonl" want="$work/out/${method}_cpu_fp32.pth.metrics.jsonl"
    [ -f "$got" ] && [ -f "$want" ] || continue
    read -r rel first last <<<"$(curve_diff "$got" "$want")"
    tol=1e-3
    [ "$dtype" = bf16 ] && tol=5e-2
    ok=$($py -c "print(0 if $rel < $tol else 1)")
    check "tune $method, $device $dtype vs cpu fp32" "$ok" \
      "loss $first -> $last; largest relative difference over 20 steps $rel (tolerance $tol); $(cat "$work/${method}_${device}_$dtype.time") s vs $(cat "$work/${method}_cpu_fp32.time") s on the CPU"
  done
done
# State files are device-independent: the state tuned on the device, read on the CPU and there.
tuned="$work/out/standard_${device}_fp32.pth"
if [ -f "$tuned" ]; then
  for where in cpu "$device"; do
    "$st" score --model "$work/model.pth" --tokens 0,101,102,103,104,105,106,107 --state "$tuned" --device "$where" \
      --weights-dtype fp32 --logits-out "$work/tuned_on_$where.npy" >/dev/null 2>&1
  done
  diff=$(compare_npy "$work/tuned_on_cpu.npy" "$work/tuned_on_$device.npy" 2>&1)
  ok=$($py -c "print(0 if float('$diff') < 1e-3 else 1)" 2>/dev/null || echo 1)
  check "state tuned on $device, read on the CPU and on $device" "$ok" "max |Δlogit| $diff (tolerance 1e-3)"
fi
say "config: L=$layers C=$dim V=$vocab random model, 32 JSONL examples, batch 4, max_tokens 64, lr 0.01, M 64 (dbp); command: $st tune tune.yaml method=standard|dbp --device cpu|$device --weights-dtype fp32|bf16"

# ---- 4. a 1-rank NCCL sweep ---------------------------------------------------------------
say ""
comm=nccl
[ "$device" = cpu ] && comm=auto
say "## 4. 1-rank sweep, --comm $comm"
cat >"$work/sweep.yaml" <<YAML
base:
  model: model.pth
  vocab: $(pwd)/.proof/rwkv_vocab_v20230424.txt
  output: sweep/{hash}.pth
  steps: 4
  batch: 4
  max_tokens: 64
  M: 32
  calibration_examples: 8
  device: $device
  data:
    benchmark: jsonl
    train: train.jsonl
    eval: train.jsonl
    eval_limit: 8
grid:
  method: [standard, dbp]
YAML
rm -f "$work/sweep.h5"
launcher=()
command -v mpirun >/dev/null && launcher=(mpirun -np 1)
timeout 300 "${launcher[@]}" "$st" sweep "$work/sweep.yaml" --out "$work/sweep.h5" --comm "$comm" >"$work/sweep.log" 2>&1
rc=$?
block "sweep (last lines):" <(tail -8 "$work/sweep.log")
"$st" report "$work/sweep.h5" >"$work/report.txt" 2>&1 && block "report:" "$work/report.txt"
check "sweep --comm $comm, 1 rank" "$([ "$rc" -eq 0 ] && echo 0 || echo 1)" "exit $rc ($(grep -c 'computing on' "$work/sweep.log") placement line(s): $(grep -m1 -o 'computing on.*' "$work/sweep.log"))"

# ---- 5. bench kernels ---------------------------------------------------------------------
say ""
say "## 5. bench kernels"
timeout 200 "$st" bench kernels --threads "$(nproc)" --repeats 3 >"$out/bench_kernels.txt" 2>&1
rc=$?
block "$st bench kernels --threads $(nproc) --repeats 3" "$out/bench_kernels.txt"
check "bench kernels" "$([ "$rc" -eq 0 ] && echo 0 || echo 1)" "exit $rc"

# ---- 6. bench tune on the device ----------------------------------------------------------
say ""
say "## 6. bench tune on $device"
if [ "$device" = cuda ]; then shapes="0.1b 1.5b" seq=1024 batches="1 8"; else shapes=small seq=64 batches="1 2"; fi
for shape in $shapes; do
  for batch in $batches; do
    args=(bench tune --shape "$shape" --seq-len "$seq" --batch "$batch" --steps 2 --methods standard
          --device "$device" --threads "$(nproc)")
    timeout 240 "$st" "${args[@]}" >"$out/bench_tune_${shape}_b$batch.txt" 2>&1
    rc=$?
    block "$st ${args[*]}" "$out/bench_tune_${shape}_b$batch.txt"
    check "bench tune $shape T=$seq batch $batch" "$([ "$rc" -eq 0 ] && echo 0 || echo 1)" "exit $rc"
  done
done

say ""
say "total: $(elapsed); status $status"
exit "$status"
