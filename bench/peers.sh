#!/usr/bin/env bash
# The engine beside SCION, the JavaScript SCXML interpreter, on ../shared/bench's charts, in one
# sitting: SCION 4.3.27 is installed from npm into a temporary folder (a bench dependency only,
# see ../shared/bench/peers/README.md), then each figure runs RUNS times (default 5), alternating
# SCION and bench/engine.py fresh processes, and the medians and their ratios are printed.
#
#   bash bench/peers.sh            # RUNS=3 bash bench/peers.sh for a quicker look
#
# Without node or npm it says so and exits 0. Prints figures; never asserts.
set -euo pipefail
cd "$(dirname "$0")/.."

shared=${ORCHWEB_SHARED:-../shared}
runs=${RUNS:-5}
python=${PYTHON:-.venv/bin/python}
driver="$shared/bench/peers/scion-bench.js"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "peers.sh: node and npm are needed to run SCION (Debian: apt-get install nodejs npm); skipped"
    exit 0
fi
if [ ! -f "$driver" ]; then
    echo "peers.sh: $driver not found (set ORCHWEB_SHARED); skipped"
    exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "installing @scion-scxml/scxml@4.3.27 into $dir"
(cd "$dir" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund @scion-scxml/scxml@4.3.27 >/dev/null)

results="$dir/results.jsonl"
scion() {  # scion MODE CHART LABEL
    NODE_PATH="$dir/node_modules" node --expose-gc "$driver" "$1" "$shared/bench/$2.scxml" |
        tail -n 1 | sed "s/^{/{\"who\":\"scion\",\"figure\":\"$3\",/" >>"$results"
}
engine() {  # engine KIND LABEL
    ORCHWEB_SHARED="$shared" "$python" bench/engine.py --child "$1" |
        tail -n 1 | sed "s/^{/{\"who\":\"engine\",\"figure\":\"$2\",/" >>"$results"
}

echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
    echo "round $i of $runs"
    scion events pingpong pingpong
    engine pingpong pingpong
    scion events nested nested
    engine nested nested
    scion sessions pingpong sessions
    engine memory sessions
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$results" <<'PY'
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1])]

def median(who, figure, key):
    values = [r[key] for r in rows if r["who"] == who and r["figure"] == figure and r.get("ok", True)]
    bad = sum(1 for r in rows if r["who"] == who and r["figure"] == figure and not r.get("ok", True))
    return (statistics.median(values) if values else float("nan")), len(values), bad

lines = [
    ("pingpong events/s", "pingpong", "events_per_s", "value", True),
    ("nested events/s", "nested", "events_per_s", "value", True),
    ("session creation ms", "sessions", "ms_per_session", "creation_ms", False),
    ("memory per idle session KiB", "sessions", "rss_kib_per_session", "kib", False),
]
print(f"{'figure':<30}{'engine':>14}{'SCION 4.3.27':>14}{'engine/SCION':>14}")
for label, figure, scion_key, engine_key, higher_is_better in lines:
    e, en, ebad = median("engine", figure, engine_key)
    s, sn, sbad = median("scion", figure, scion_key)
    ratio = e / s if higher_is_better else s / e
    note = f"  ({ebad} engine / {sbad} SCION runs failed their check)" if ebad or sbad else ""
    print(f"{label:<30}{e:>14,.3f}{s:>14,.3f}{ratio:>13.2f}x{note}")
print("ratio: how many times SCION's figure the engine reaches (above 1 = the engine is better)")
PY
