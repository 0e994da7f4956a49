#!/usr/bin/env bash
# Issue 17's measurement, end to end: the same 1-step runs (a 24-layer, C=256 random model,
# method kernel, M=48: several MB of tuned state per run) in a study of N1 and of N2 runs, as
# `statetune sweep` runs them. Prints per-run wall time and rank 0's peak memory of each, and
# the study's size on disk. With OLD_BIN (a statetune binary of an earlier version), the same
# for it, in the same invocation (runs with `output:` there: that version required it).
#   usage: bash orchestrator/bench/study_scale.sh [BUILD_DIR] [N1] [N2]
set -euo pipefail
build="${1:-build}"
n1="${2:-20}"
n2="${3:-200}"
source "$(dirname "$0")/bench_work.sh"
python3 - <<'PY'
import json
with open("train.jsonl", "w") as f:
    for i in range(8):
        f.write(json.dumps({"context": "Q%d: %d plus one?" % (i, i), "target": " %d" % (i + 1)}) + "\n")
PY
"$bin" init-model --layers 24 --dim 256 --head-size 64 --vocab 300 --seed 1 --out m.pth >/dev/null
sweep() {  # name runs extra-base-lines
  local seeds
  seeds=$(seq -s, 0 $(($2 - 1)))
  printf 'base:\n  model: m.pth\n  vocab: vocab.txt\n  method: kernel\n  M: 48\n  kmeans_iters: 2\n  calibration_examples: 4\n  steps: 1\n  batch: 2\n  data: {benchmark: jsonl, train: train.jsonl, eval: train.jsonl}\n%bgrid:\n  seed: [%s]\n' "$3" "$seeds" > "$1.yaml"
}
measure() {  # label binary runs extra
  local label=$1 b=$2 n=$3 name="s_${1}_$3"
  sweep "$name" "$n" "$4"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$name.rss" "$b" sweep "$name.yaml" --out "$name.h5" > "$name.log" 2>&1 || { echo "$label $n runs failed:"; tail -5 "$name.log"; exit 1; }
  end=$(date +%s.%N)
  local disk
  disk=$( (du -sm "$name.h5" "$name.h5.runs" 2>/dev/null || true) | awk '{s += $1} END {print s}')
  if [ -d states ]; then disk=$((disk + $(du -sm states | cut -f1))); fi
  python3 -c "import sys; n=$n; w=$end-$start; rss=int(open('$name.rss').read().split()[-1])/1024; print('%-4s %5d runs: %.3f s per run, rank 0 peak %.0f MiB, %s MB on disk' % ('$label', n, w / n, rss, '$disk'))"
  rm -rf states
}
measure new "$bin" "$n1" ""
measure new "$bin" "$n2" ""
if [ -n "${OLD_BIN:-}" ]; then
  measure old "$OLD_BIN" "$n1" "  output: states/{hash}.pth\n"
  measure old "$OLD_BIN" "$n2" "  output: states/{hash}.pth\n"
fi
