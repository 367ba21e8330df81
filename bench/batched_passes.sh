#!/usr/bin/env bash
# bench/batched_passes.sh — ptp::batched_passes against the two-pass PTP-RN step (issue 21
# item 2): bench_train_step's batched/B{8,16}_L128/{vanilla,rn,rn_batched} at 1 and 2 intra-op
# threads, the two thread counts alternating (order swapped every other round) so both see the
# same load; the vanilla step of the same process and round is the reference. Prints medians
# over rounds of overhead = time(method) / (2 × time(vanilla)) and of batched / two-pass.
# See BENCHMARKS.md "Batched clean + perturbed passes".
#
#   bench/batched_passes.sh [BUILD_DIR]          (default build)
# Environment: ROUNDS (3), PTP_BENCH_ITERS (timed steps per benchmark and round, 2),
#   THREADS ("1 2"), KEEP=DIR (keep the raw JSON there), REPORT_ONLY=1 (with KEEP: re-print).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
bin=$build/bench/bench_train_step
py=${PTP_PYTHON:-$HOME/.cache/ptp/venv/bin/python}
rounds=${ROUNDS:-3}
threads=${THREADS:-1 2}
export PTP_BENCH_ITERS=${PTP_BENCH_ITERS:-2}
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target bench_train_step" >&2; exit 1; }
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
echo "# raw results in $work" >&2
if [ -z "${REPORT_ONLY:-}" ]; then
  echo "start $(date -Is) $(cat /proc/loadavg)" > "$work/load.txt"
  for r in $(seq 1 "$rounds"); do
    order=$threads
    (( r % 2 )) || order=$(echo "$threads" | tr ' ' '\n' | tac | tr '\n' ' ')
    for t in $order; do
      echo "round $r/$rounds threads $t $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      echo "round $r threads $t $(cat /proc/loadavg)" >> "$work/load.txt"
      PTP_BENCH_THREADS=$t OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t \
        "$bin" --benchmark_filter="gemm|batched/" --benchmark_format=json \
        --benchmark_out="$work/r${r}_t${t}.json" --benchmark_out_format=json > /dev/null 2>> "$work/stderr.txt"
    done
  done
  echo "end $(date -Is) $(cat /proc/loadavg)" >> "$work/load.txt"
fi

"$py" - "$work" <<'PY'
import glob, json, os, re, statistics as st, sys
work = sys.argv[1]
runs = {}  # (threads, round) -> {name: (cpu_s, wall_s)}
for f in glob.glob(os.path.join(work, "r*_t*.json")):
    r, t = map(int, re.match(r"r(\d+)_t(\d+)\.json", os.path.basename(f)).groups())
    try:
        bench = json.load(open(f))["benchmarks"]
    except (ValueError, KeyError):
        print(f"(skipping incomplete {f})", file=sys.stderr)
        continue
    unit = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}
    runs[(t, r)] = {b["name"].split("/iterations")[0]: (b["cpu_time"] * unit[b["time_unit"]], b["real_time"] * unit[b["time_unit"]])
                    for b in bench}
med = lambda xs: st.median(xs) if xs else float("nan")
print(f"\nrounds {len({r for _, r in runs})}, timed steps per benchmark and round {os.environ.get('PTP_BENCH_ITERS')}; "
      "medians over rounds; CPU = process CPU time (all threads), wall = real time")
print(open(os.path.join(work, "load.txt")).read().strip())
print("\n| config | threads | method | passes | CPU ms | wall ms | overhead (CPU) | overhead (wall) | batched / two-pass (CPU) | batched / two-pass (wall) |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
label = {"vanilla": "vanilla", "rn": "PTP-RN, two passes", "rn_batched": "PTP-RN, `batched_passes`"}
passes = {"vanilla": 1, "rn": 2, "rn_batched": 2}
for cfg in ["B8_L128", "B16_L128"]:
    for t in sorted({t for t, _ in runs}):
        rs = [runs[k] for k in sorted(runs) if k[0] == t]
        for m in ["vanilla", "rn", "rn_batched"]:
            n, v, two = f"batched/{cfg}/{m}", f"batched/{cfg}/vanilla", f"batched/{cfg}/rn"
            rows = [x for x in rs if n in x and v in x and two in x]
            oc = med([x[n][0] / (passes[m] * x[v][0]) for x in rows])
            ow = med([x[n][1] / (passes[m] * x[v][1]) for x in rows])
            bc = med([x[n][0] / x[two][0] for x in rows]) if m == "rn_batched" else None
            bw = med([x[n][1] / x[two][1] for x in rows]) if m == "rn_batched" else None
            fmt = lambda y: f"{y:.3f}" if y is not None else ""
            print(f"| {cfg.replace('_', ' ')} | {t} | {label[m]} | {passes[m]} | {med([x[n][0] for x in rows])*1e3:.0f} | "
                  f"{med([x[n][1] for x in rows])*1e3:.0f} | {oc:.3f} | {ow:.3f} | {fmt(bc)} | {fmt(bw)} |")
g = {t: med([runs[k]["gemm_2048"][0] for k in runs if k[0] == t and "gemm_2048" in runs[k]]) for t in sorted({t for t, _ in runs})}
print("\nGEMM 2048² fp32 (same processes): " + ", ".join(f"{t} thread(s) {2*2048**3/s/1e9:.1f} GFLOP/s CPU-time" for t, s in g.items()))
PY
