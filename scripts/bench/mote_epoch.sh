#!/usr/bin/env bash
# Time MOTE training epochs on ML-1M: THREADS torch threads, EPOCHS epochs, peak RSS of the process.
# Prints the per-epoch seconds (training only, no validation) and the peak RSS; run it on an idle
# machine for the 2-core figure. Usage: scripts/bench/mote_epoch.sh [THREADS=2] [EPOCHS=2] [DEVICE=cpu]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2} epochs=${2:-2} device=${3:-cpu}
out=$(mktemp -d)
/usr/bin/time -v -o "$out/time.txt" .venv/bin/m3rec train --data "${DATA_ROOT:-../shared/data}/ml-1m" \
    --epochs "$epochs" --device "$device" --set threads="$threads" --out "$out/mote.pt" --json > "$out/train.json"
.venv/bin/python - "$out" <<'PY'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
doc = json.loads((out / "train.json").read_text())
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", (out / "time.txt").read_text())[1])
print(json.dumps({
    "device": doc["device"], "threads": doc["config"]["threads"], "batch_size": doc["config"]["batch_size"],
    "epoch_seconds": [round(e["epoch_seconds"], 1) for e in doc["epochs"]],
    "valid_ndcg10": [round(e.get("valid_ndcg10", 0), 4) for e in doc["epochs"]],
    "peak_rss_mb": round(rss / 1024),
}))
PY
