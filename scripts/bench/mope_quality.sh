#!/usr/bin/env bash
# MOPE quality runs: profiles of seeded test-stage users at cold_k K for each model and dataset,
# resumable (profiles land in OUT/store as they finish; a rerun reuses them, and the first N
# users of a larger sample are the N-user sample). Figures: scripts/bench/mope_quality.py.
# Usage: PROMPT=v2 USERS=30 COLD_K=2 OUT=runs/mope-quality/v2 \
#        MODELS="qwen2.5-1.5b qwen2.5-0.5b smollm2-135m" scripts/bench/mope_quality.sh DATA...
# SRC=/path/to/other/checkout/src runs another revision's code (the "before" figures).
# A user recorded as failed is not asked again (--skip-failed): at temperature 0 the replies repeat.
set -uo pipefail
cd "$(dirname "$0")/../.."
prompt=${PROMPT:-v2} users=${USERS:-30} cold_k=${COLD_K:-2} out=${OUT:-runs/mope-quality/$prompt}
models=${MODELS:-qwen2.5-1.5b qwen2.5-0.5b smollm2-135m}
mkdir -p "$out"
export M3REC_LLM__N_THREADS=${M3REC_LLM__N_THREADS:-1} M3REC_MOPE__PROMPT=$prompt
[[ -n "${SRC:-}" ]] && export PYTHONPATH=$SRC
for model in $models; do
  for data in "$@"; do
    name="$model-$(basename "$data")-k$cold_k-n$users"
    [[ -s "$out/$name.json" ]] && continue
    /usr/bin/time -v .venv/bin/python -m m3rec profile --data "$data" --users "$users" --seed 0 \
      --stage test --cold-k "$cold_k" --model "$model" --store "$out/store" --skip-failed --json \
      > "$out/$name.json.tmp" 2> "$out/$name.err"  # exit 1 when some user failed: still a batch
    [[ -s "$out/$name.json.tmp" ]] && mv "$out/$name.json.tmp" "$out/$name.json"
  done
done
