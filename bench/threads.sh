#!/usr/bin/env bash
# Every BENCHMARKS.md table that has a 1-thread column, again at 1 and 2 threads (issue 21):
# the kernel suites (embedding, random, tokenizers, text) beside their Python peers, the
# training step at PTP_BENCH_THREADS=1 and 2, the batched passes, and the end-to-end FewGLUE
# runs. Run it on an idle machine: stop other work first (kill -STOP), the load average is
# recorded per stage in $KEEP/load.txt.
#
# usage: bench/threads.sh [BUILD_DIR]     (./ptp bench threads builds and calls it)
# Environment: KEEP=DIR (raw results; default: a new temporary folder), PTP_PYTHON, SKIP_E2E=1,
#   ROUNDS (training step and batched passes, 3).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
py=${PTP_PYTHON:-$HOME/.cache/ptp/venv/bin/python}
K=${KEEP:-$(mktemp -d)}
mkdir -p "$K"
K=$(cd "$K" && pwd)
b=$build/bench
cd "$here"
ld() { echo "$(date -u +%H:%M:%S) $1 $(cut -d' ' -f1-3 /proc/loadavg)" >> "$K/load.txt"; }
gb() { "$b/bench_$1" --benchmark_report_aggregates_only=true --benchmark_out="$K/$1.json" \
         --benchmark_out_format=json "${@:2}" > "$K/$1.txt" 2>&1; }
ld start
gb embedding --benchmark_repetitions=5 --benchmark_min_time=0.2; ld embedding
gb random --benchmark_repetitions=5 --benchmark_min_time=0.2; ld random
for t in 1 2; do "$py" bench/py_randn_bench.py --repeat 5 --threads "$t" > "$K/randn_t$t.txt" 2>&1; done; ld randn
gb tokenizers --benchmark_repetitions=3; ld tokenizers
for t in 1 2; do "$py" bench/hf_tokenizers_bench.py "$b/tokenizers_data" --threads "$t" > "$K/hf_t$t.txt" 2>&1; done
# encode() one text at a time holds the GIL: what a Python user gets from 2 cores is 2 processes
"$py" bench/hf_tokenizers_bench.py "$b/tokenizers_data" > "$K/hf_p2a.txt" 2>&1 &
"$py" bench/hf_tokenizers_bench.py "$b/tokenizers_data" > "$K/hf_p2b.txt" 2>&1; wait; ld hf
gb text --benchmark_repetitions=3 --benchmark_min_time=1; ld text
"$py" -W ignore bench/py_text_bench.py --repeat 5 > "$K/pytext_p1.txt" 2>&1
"$py" -W ignore bench/py_text_bench.py --repeat 5 > "$K/pytext_p2a.txt" 2>&1 &
"$py" -W ignore bench/py_text_bench.py --repeat 5 > "$K/pytext_p2b.txt" 2>&1; wait; ld pytext
for t in 1 2; do
  SKIP_RSS=1 SKIP_PROFILE=1 KEEP="$K/ts_t$t" ROUNDS=${ROUNDS:-3} PTP_BENCH_ITERS=2 PTP_BENCH_THREADS=$t \
    PTP_PYTHON="$py" bench/train_step.sh "$build" > "$K/train_step_t$t.txt" 2>&1; ld "train_step_t$t"
done
KEEP="$K/batched" ROUNDS=${ROUNDS:-3} PTP_BENCH_ITERS=2 bench/batched_passes.sh "$build" > "$K/batched.txt" 2>&1; ld batched
if [[ -z ${SKIP_E2E:-} ]]; then
  PTP_PYTHON="$py" "$py" bench/e2e_fewglue.py --build "$build" --tasks CB,RTE --methods vanilla,ptp-rn,ptp-adv \
    --seeds 1 --threads 1,2 --max-steps 4 --max-eval 64 --keep "$K/e2e" > "$K/e2e.txt" 2>&1; ld e2e
fi
echo "raw results in $K (BENCHMARKS.md: each table's 1- and 2-thread rows)"
