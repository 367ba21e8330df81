#!/usr/bin/env bash
# bench/train_step.sh — the C++ training-step bench and its Python peer in one invocation,
# interleaved (per round and config: C++ then Python, the order swapped every other round) so
# both see the same machine load; then peak RSS per (config, method) in separate processes of
# each; then a torch.profiler breakdown of Python's vanilla step; then one combined table of
# medians over the rounds. See BENCHMARKS.md "Training step (MiniLM, CPU)".
#
#   bench/train_step.sh [BUILD_DIR]          (default build-bench)
# Environment: ROUNDS (3), PTP_BENCH_ITERS (timed steps per benchmark and round, 1),
#   PTP_BENCH_THREADS (intra-op threads on both sides, 1), PTP_PYTHON (the ptp venv's python),
#   SKIP_RSS=1, SKIP_PROFILE=1, KEEP=DIR (keep the raw JSON there), REPORT_ONLY=1 (with KEEP:
#   print the table of an earlier run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build-bench}
bin=$build/bench/bench_train_step
py=${PTP_PYTHON:-$HOME/.cache/ptp/venv/bin/python}
rounds=${ROUNDS:-3}
export PTP_BENCH_ITERS=${PTP_BENCH_ITERS:-1}
export PTP_BENCH_THREADS=${PTP_BENCH_THREADS:-1}
export OMP_NUM_THREADS=$PTP_BENCH_THREADS MKL_NUM_THREADS=$PTP_BENCH_THREADS
export TRANSFORMERS_VERBOSITY=error HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target bench_train_step" >&2; exit 1; }
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
echo "# raw results in $work" >&2
if [ -z "${REPORT_ONLY:-}" ]; then
"$bin" --ptp_write_inputs="$work/inputs" > "$work/inputs.txt"
configs="B16_L128 B2_L256 B1_L2"
{ echo "start $(date -Is) $(cat /proc/loadavg)"; } > "$work/load.txt"

run_cpp() {  # round config
  "$bin" --benchmark_filter="gemm|step/$2/" --benchmark_format=json --benchmark_out="$work/cpp_r$1_$2.json" \
    --benchmark_out_format=json > /dev/null 2>> "$work/stderr.txt"
}
run_py() {
  "$py" -W ignore "$here/py_train_step.py" --inputs "$work/inputs" --config "$2" --json "$work/py_r$1_$2.jsonl" \
    2>> "$work/stderr.txt"
}
for r in $(seq 1 "$rounds"); do
  for c in $configs; do
    echo "round $r/$rounds $c $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    echo "round $r $c $(cat /proc/loadavg)" >> "$work/load.txt"
    if (( r % 2 )); then run_cpp "$r" "$c"; run_py "$r" "$c"; else run_py "$r" "$c"; run_cpp "$r" "$c"; fi
  done
done
if [ -z "${SKIP_RSS:-}" ]; then
  for c in B16_L128 B2_L256; do
    b=${c#B}; b=${b%_L*}; l=${c#*_L}
    for m in vanilla rn pgd3 freelb3; do
      echo "rss $c $m" >&2
      "$bin" --ptp_rss="$b,$l,$m" >> "$work/rss.jsonl" 2>> "$work/stderr.txt"
      "$py" -W ignore "$here/py_train_step.py" --inputs "$work/inputs" --rss "$b,$l,$m" >> "$work/rss.jsonl" 2>> "$work/stderr.txt"
    done
  done
fi
if [ -z "${SKIP_PROFILE:-}" ]; then
  echo "profile" >&2
  "$py" -W ignore "$here/py_train_step.py" --inputs "$work/inputs" --profile > "$work/profile.jsonl" 2>> "$work/stderr.txt"
fi
echo "end $(date -Is) $(cat /proc/loadavg)" >> "$work/load.txt"
fi

"$py" - "$work" <<'EOF'
import glob, json, os, statistics as st, sys
work = sys.argv[1]
cpp, py = {}, {}   # (round, name) -> (cpu_s, wall_s, rec)
for f in glob.glob(os.path.join(work, "cpp_r*_*.json")):
    r = int(os.path.basename(f).split("_")[1][1:])
    try:
        bench = json.load(open(f))["benchmarks"]
    except (ValueError, KeyError):
        print(f"(skipping incomplete {f})", file=sys.stderr)
        continue
    for b in bench:
        name = b["name"].split("/iterations")[0]
        unit = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
        cpp.setdefault(name, []).append((r, b["cpu_time"] * unit, b["real_time"] * unit, b))
for f in glob.glob(os.path.join(work, "py_r*_*.jsonl")):
    r = int(os.path.basename(f).split("_")[1][1:])
    for line in open(f):
        rec = json.loads(line)
        py.setdefault(rec["name"], []).append((r, rec["cpu_s"], rec["wall_s"], rec))
med = lambda xs: st.median(xs) if xs else float("nan")
def by_round(d, name, k=1):
    out = {}
    for t in d.get(name, []):
        out.setdefault(t[0], []).append(t[k])
    return {r: min(v) if False else st.median(v) for r, v in out.items()}
passes = {"vanilla": 1, "rn": 2, "pgd3": 4, "freelb3": 4}
label = {"vanilla": "vanilla", "rn": "PTP-RN (Gaussian)", "pgd3": "PGD-3 (zero init)", "freelb3": "FreeLB-3 (+clean)"}
gemm_c, gemm_p = med([t[1] for t in cpp.get("gemm_2048", [])]), med([t[1] for t in py.get("gemm_2048", [])])
print(f"\nthreads {os.environ.get('PTP_BENCH_THREADS')}, rounds {len({t[0] for v in cpp.values() for t in v})}, "
      f"timed steps per benchmark and round {os.environ.get('PTP_BENCH_ITERS')}; medians; CPU = process CPU time")
print(open(os.path.join(work, "load.txt")).read().strip())
print(f"\nGEMM 2048² fp32: C++ {2*2048**3/gemm_c/1e9:.1f} GFLOP/s, Python {2*2048**3/gemm_p/1e9:.1f} GFLOP/s (CPU time)\n")
print("| config | method | passes | C++ CPU ms | Py CPU ms | C++/Py CPU | C++ wall ms | Py wall ms | C++/Py wall | overhead C++ | overhead Py |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
gf = []
for cfg in ["B16_L128", "B2_L256", "B1_L2"]:
    vc, vp = by_round(cpp, f"step/{cfg}/vanilla"), by_round(py, f"step/{cfg}/vanilla")
    for m in ["vanilla", "rn", "pgd3", "freelb3"]:
        n = f"step/{cfg}/{m}"
        c, p = by_round(cpp, n), by_round(py, n)
        cw, pw = by_round(cpp, n, 2), by_round(py, n, 2)
        ratio = med([c[r] / p[r] for r in c if r in p])
        ratio_w = med([cw[r] / pw[r] for r in cw if r in pw])
        oc = med([c[r] / (passes[m] * vc[r]) for r in c if r in vc])
        op = med([p[r] / (passes[m] * vp[r]) for r in p if r in vp])
        print(f"| {cfg.replace('_', ' ')} | {label[m]} | {passes[m]} | {med(list(c.values()))*1e3:.0f} | {med(list(p.values()))*1e3:.0f} | "
              f"{ratio:.3f} | {med(list(cw.values()))*1e3:.0f} | {med(list(pw.values()))*1e3:.0f} | {ratio_w:.3f} | {oc:.3f} | {op:.3f} |")
    flop = cpp[f"step/{cfg}/vanilla"][0][3]["model_flop"]
    gf.append((cfg, flop, flop / med(list(vc.values())) / 1e9, flop / med(list(vp.values())) / 1e9))
print("\n| config | model GFLOP / vanilla step | C++ GFLOP/s | % of GEMM | Python GFLOP/s | % of GEMM |")
print("|---|---:|---:|---:|---:|---:|")
for cfg, flop, c, p in gf:
    if cfg == "B1_L2":
        continue
    print(f"| {cfg.replace('_', ' ')} | {flop/1e9:.1f} | {c:.1f} | {100*c/(2*2048**3/gemm_c/1e9):.0f}% | {p:.1f} | {100*p/(2*2048**3/gemm_p/1e9):.0f}% |")
rf = os.path.join(work, "rss.jsonl")
if os.path.exists(rf):
    rs = {}
    for line in open(rf):
        if line.startswith("{"):
            x = json.loads(line)
            rs[(x["batch"], x["length"], x["method"], x["lang"])] = x
    print("\n| config | method | C++ peak RSS MiB (after load) | Py peak RSS MiB (after load) | C++ step ΔMiB | Py step ΔMiB |")
    print("|---|---|---:|---:|---:|---:|")
    for (b, l) in [(16, 128), (2, 256)]:
        for m in ["vanilla", "rn", "pgd3", "freelb3"]:
            c, p = rs.get((b, l, m, "cpp")), rs.get((b, l, m, "py"))
            if not c or not p:
                continue
            print(f"| B{b} L{l} | {label[m]} | {c['maxrss_kib']/1024:.0f} ({c['maxrss_loaded_kib']/1024:.0f}) | "
                  f"{p['maxrss_kib']/1024:.0f} ({p['maxrss_loaded_kib']/1024:.0f}) | "
                  f"{(c['maxrss_kib']-c['maxrss_loaded_kib'])/1024:.0f} | {(p['maxrss_kib']-p['maxrss_loaded_kib'])/1024:.0f} |")
pf = os.path.join(work, "profile.jsonl")
if os.path.exists(pf):
    print("\nPython vanilla step under torch.profiler (CPU s):")
    for line in open(pf):
        if line.startswith("{"):
            x = json.loads(line)
            print(f"  {x['profile']}: step {x['step_cpu_s']:.3f} (profiled {x['profiled_step_cpu_s']:.3f}), "
                  f"op self time {x['ops_self_cpu_s']:.3f} (profiler clock = wall, not CPU) in {x['op_calls']} op calls")
            print("    top ops (name, calls, self ms): " + "; ".join(f"{k} {n} {t}" for k, n, t in x["top_ops"]))
EOF
