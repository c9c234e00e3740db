#!/usr/bin/env bash
# One MOTE validation run for choosing settings: `m3rec train`, seed 0, 5,000 validation users,
# at most EPOCHS (8) epochs, patience 2, one thread; prints each epoch's validation NDCG@10.
# Output: runs/acc/NAME.{json,err,pt}. Usage: scripts/bench/mote_valid.sh NAME DATASET [--set K=V ...]
set -uo pipefail
cd "$(dirname "$0")/../.."
name=$1 data=$2
shift 2
mkdir -p runs/acc
/usr/bin/time -f "%e s %M KB" .venv/bin/m3rec train --data "${DATA_ROOT:-../shared/data}/$data" \
  --epochs "${EPOCHS:-8}" --valid-users "${VU:-5000}" --out "runs/acc/$name.pt" --set threads=1 \
  --set patience=2 "$@" --json > "runs/acc/$name.json" 2> "runs/acc/$name.err"
.venv/bin/python - "runs/acc/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
curve = [round(e["valid_ndcg10"], 4) for e in d["epochs"]]
print(sys.argv[1], curve, "best epoch", d["best_epoch"], round(d["valid_ndcg10"], 4), d["train_seconds"], "s")
PY
