#!/usr/bin/env bash
# Performance regression check: runs the side-by-side benchmarks' quick
# variants and fails loudly when a speed ratio (glassbox / the other tool,
# measured in the same run, so the machine's speed cancels out) drops more
# than 20% below the one recorded in bench/baseline.json.
#
#   bench/check_perf.sh [THREADS=2]            compare against bench/baseline.json
#   bench/check_perf.sh --record [THREADS=2]   measure and write bench/baseline.json
#
# Checks: bench/compare_llama.sh (QUICK=1): glassbox vs llama.cpp, GPT-2-small
# and Llama-small GGUF, 1 x 1024 and 8 x 128 tokens. Not in .ci/run: the
# timings are noisy on a shared machine; run it before and after speed work.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECORD=0
if [[ "${1:-}" == "--record" ]]; then RECORD=1; shift; fi
THREADS="${1:-2}"
BASELINE="$ROOT/bench/baseline.json"
TOLERANCE=0.20

MEASURED="$(mktemp)"
trap 'rm -f "$MEASURED"' EXIT
QUICK=1 COMPARE_LLAMA_JSON="$MEASURED" "$ROOT/bench/compare_llama.sh" "$THREADS" >&2

/usr/bin/python3 - "$MEASURED" "$BASELINE" "$RECORD" "$TOLERANCE" "$THREADS" <<'PYEOF'
import datetime, json, os, sys
measured, baseline_path, record, tol, threads = sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4]), int(sys.argv[5])
ratios = {f"llama.cpp {r['model']} {r['shape']}": r["ratio"] for r in json.load(open(measured))}
if record:
    doc = {"about": "speed ratios glassbox / other tool, from bench/check_perf.sh --record; "
                    "check_perf.sh fails when one drops more than 20% below these",
           "recorded": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "threads": threads, "cpus": os.cpu_count(), "ratios": ratios}
    with open(baseline_path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(baseline_path + ".tmp", baseline_path)
    print(f"check_perf: recorded {len(ratios)} ratios in {baseline_path}")
    sys.exit(0)
if not os.path.exists(baseline_path):
    sys.exit(f"check_perf: no {baseline_path}; record one with bench/check_perf.sh --record")
base = json.load(open(baseline_path))
if base.get("threads") != threads:
    print(f"check_perf: warning: baseline recorded with {base.get('threads')} threads, now {threads}")
failed = []
for key, want in base["ratios"].items():
    got = ratios.get(key)
    if got is None:
        failed.append(f"{key}: not measured")
        continue
    floor = want * (1 - tol)
    status = "ok" if got >= floor else "REGRESSION"
    print(f"{key:36} ratio {got:6.3f}  baseline {want:6.3f}  floor {floor:6.3f}  {status}")
    if got < floor:
        failed.append(f"{key}: {got:.3f} < {floor:.3f} (baseline {want:.3f} - {tol:.0%})")
if failed:
    print("\ncheck_perf: FAILED, speed ratio dropped more than %d%% below bench/baseline.json:" % round(tol * 100))
    for f in failed:
        print("  " + f)
    sys.exit(1)
print("check_perf: all ratios within %d%% of the baseline" % round(tol * 100))
PYEOF
