#!/usr/bin/env bash
# Per-question wall time of method tts against plain evaluation, for tts_steps 1, 4 and 16, on
# the 0.1B shape (L12 C768) guided by a 0.4B-shaped model (L24 C1024), random weights, CPU, in
# one study (issue 8's measurement). Plain evaluation and adaptation are timed on the same
# questions in the same process; figures are per question and their ratio.
#   usage: bash orchestrator/bench/tts_per_question.sh [BUILD_DIR] [QUESTIONS] [GUIDE_TOKENS] [THREADS]
set -euo pipefail
build="${1:-build}"
questions="${2:-3}"
guide_tokens="${3:-16}"
threads="${4:-2}"
shared="${STATETUNE_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}"
bin="$(cd "$build" && pwd)/orchestrator/statetune"
vocab="$shared/data/tokenizer/rwkv_vocab_v20230424.txt"
arc="$shared/data/benchmarks/arc_challenge/eval.jsonl"
[ -f "$vocab" ] && [ -f "$arc" ] || { echo "needs $vocab and $arc (../shared)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" init-model --layers 12 --dim 768 --vocab 65536 --seed 1 --out student.pth >/dev/null
"$bin" init-model --layers 24 --dim 1024 --vocab 65536 --seed 2 --out guide.pth >/dev/null
cat > tts.yaml <<YAML
base:
  model: student.pth
  vocab: $vocab
  output: out/{hash}.pth
  method: tts
  guide: guide.pth
  tts_guide_tokens: $guide_tokens
  tts_lr: 0.01
  data: {benchmark: arc_challenge, train: $arc, eval: $arc, eval_limit: $questions}
grid:
  tts_steps: [1, 4, 16]
YAML
"$bin" sweep tts.yaml --out tts.h5 --threads "$threads" 2>&1 | grep -E "^run |tts on" || true
/usr/bin/python3 - <<'PY'
import h5py
with h5py.File("tts.h5", "r") as f:
    rows = []
    for h in f["runs"]:
        r = f["runs"][h]
        steps = int(r["axes"].attrs["tts_steps"])  # axis values are stored as text
        ev = {n: (b, a) for n, b, a in
              zip(r["eval/name"].asstr()[:], r["eval/before"][:], r["eval/after"][:])}
        plain, with_tts = ev["tts/seconds_per_question"]
        rows.append((steps, plain, with_tts, ev["tts/guide_tokens_per_question"][1],
                     ev["tts/guide_seconds_per_question"][1]))
    for steps, plain, with_tts, gt, gs in sorted(rows):
        print(f"tts_steps {steps:2d}: plain eval {plain:6.2f} s/question; eval + adaptation {with_tts:6.2f} s/question "
              f"({with_tts/plain:5.1f}x); the guide's {gt:.0f}-token chain of thought {gs:6.2f} s/question "
              f"(all: {(with_tts+gs)/plain:5.1f}x)")
PY
