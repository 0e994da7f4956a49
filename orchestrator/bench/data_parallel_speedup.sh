#!/usr/bin/env bash
# Data-parallel speed-up of one tuning run: 2 ranks x 1 thread against 1 rank x 1 thread on
# the same global batch (issue 6's target: >= 1.8x on 2 cores), and rank 0's dispatch cost.
# Both runs are measured in the same invocation; figures are ratios of medians of the step
# times stored in the study files.
#   usage: bash orchestrator/bench/data_parallel_speedup.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build="${1:-build}"
steps="${2:-12}"
source "$(dirname "$0")/bench_work.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
python3 - <<'PY'
import json
with open("train.jsonl", "w") as f:
    for i in range(64):
        ctx = "Question %d: " % i + " ".join("word%d" % ((i * 7 + j) % 50) for j in range(60))
        f.write(json.dumps({"context": ctx, "target": " answer %d" % (i % 10)}) + "\n")
PY
"$bin" init-model --layers 4 --dim 256 --head-size 64 --vocab 300 --seed 1 --out m.pth >/dev/null
cat > one_run.yaml <<YAML
base:
  model: m.pth
  vocab: vocab.txt
  output: out/{hash}.pth
  checkpoint: ckpt/{hash}.pth
  steps: $steps
  batch: 8
  lr: 0.1
  data: {benchmark: jsonl, train: train.jsonl}
grid:
  seed: [0]
YAML
# 8 tiny runs: what rank 0 spends per run dealt on the results file and messages.
cat > many_runs.yaml <<YAML
base:
  model: m.pth
  vocab: vocab.txt
  output: out/{hash}.pth
  checkpoint: ckpt/{hash}.pth
  steps: 1
  batch: 1
  data: {benchmark: jsonl, train: train.jsonl, train_limit: 2}
grid:
  seed: [0, 1, 2, 3, 4, 5, 6, 7]
YAML
echo "== 1 rank x 1 thread"
mpirun --oversubscribe -np 1 "$bin" sweep one_run.yaml --out one.h5 --threads 1 >/dev/null 2>&1
echo "== 2 ranks x 1 thread, one group (data parallel)"
mpirun --oversubscribe -np 2 "$bin" sweep one_run.yaml --out two.h5 --ranks-per-run 2 --threads 1 \
  output='out2/{hash}.pth' checkpoint='ckpt2/{hash}.pth' >/dev/null 2>&1
"$bin" sweep many_runs.yaml --out many.h5 --threads 1 2>/dev/null | grep "rank 0 overhead" | sed 's/^/8 one-step runs: /'
/usr/bin/python3 - <<'PY'
import sys, h5py, numpy as np
def step_seconds(path):
    with h5py.File(path, "r") as f:
        (h,) = list(f["runs"])
        m = f["runs"][h]["metrics"]
        tps = np.asarray(m["tokens_per_s"][1:])  # step 0 warms up
        return float(np.median(1.0 / tps))       # seconds per target token
one, two = step_seconds("one.h5"), step_seconds("two.h5")
print(f"step time per target token: 1 rank {one*1e3:.3f} ms, 2 ranks {two*1e3:.3f} ms")
print(f"data-parallel speed-up (2 ranks x 1 thread vs 1 rank x 1 thread): {one/two:.2f}x")
PY
