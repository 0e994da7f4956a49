#!/usr/bin/env bash
# Issue 17's throughput target: a study of RUNS twenty-step runs on the 0.1B shape (L12 C768,
# vocabulary 65536, random weights) spends >= 85% of its wall time in tuning steps and the
# after-evaluation. Runs `statetune sweep` once (standard, a seed x lr grid) and prints the
# sweep's own time split (load, calibration, evals, steps, save, results file).
#   usage: bash orchestrator/bench/study_throughput.sh [BUILD_DIR] [RUNS] [STEPS]
set -euo pipefail
build="${1:-build}"
runs="${2:-100}"
steps="${3:-20}"
source "$(dirname "$0")/bench_work.sh"
python3 - <<'PY'
import json
with open("train.jsonl", "w") as f:
    for i in range(16):
        f.write(json.dumps({"context": "Question %d: what is %d plus %d?" % (i, i, i + 1), "target": " %d" % (2 * i + 1)}) + "\n")
with open("eval.jsonl", "w") as f:
    for i in range(8):
        f.write(json.dumps({"context": "Question %d: what is %d plus %d?" % (i, i + 3, i), "target": " %d" % (2 * i + 3)}) + "\n")
PY
"$bin" init-model --layers 12 --dim 768 --head-size 64 --vocab 65536 --seed 1 --out m.pth >/dev/null
seeds=$(seq -s, 0 9)
lrs=$(python3 -c "print(', '.join('%g' % (0.01 * (k + 1)) for k in range($runs // 10)))")
cat > study.yaml <<YAML
base:
  model: m.pth
  vocab: vocab.txt
  steps: $steps
  batch: 1
  max_tokens: 64
  data: {benchmark: jsonl, train: train.jsonl, eval: eval.jsonl}
grid:
  lr: [$lrs]
  seed: [$seeds]
YAML
start=$(date +%s)
"$bin" sweep study.yaml --out study.h5 --threads 2 | grep -E "^study study.h5|time split|cache:"
echo "wall $(( $(date +%s) - start )) s for $(( (runs / 10) * 10 )) runs of $steps steps"
