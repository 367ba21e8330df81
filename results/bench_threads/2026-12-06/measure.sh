#!/usr/bin/env bash
# Item 4 of issue 21: every 1-thread table again at 1 and 2 threads on an idle machine.
# The background sweep is stopped (SIGSTOP) by the caller for the whole run.
set -u
cd /work/main
K=/work/idle/out; mkdir -p $K
py=$HOME/.cache/ptp/venv/bin/python
b=build/bench
ld() { echo "$(date -u +%H:%M:%S) $1 $(cut -d' ' -f1-3 /proc/loadavg)" >> $K/load.txt; }
ld start
$b/bench_embedding --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
  --benchmark_out=$K/embedding.json --benchmark_out_format=json > $K/embedding.txt 2>&1; ld embedding
$b/bench_random --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
  --benchmark_out=$K/random.json --benchmark_out_format=json > $K/random.txt 2>&1; ld random
for t in 1 2; do $py bench/py_randn_bench.py --repeat 5 --threads $t > $K/randn_t$t.txt 2>&1; done; ld randn
$b/bench_tokenizers --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out=$K/tokenizers.json --benchmark_out_format=json > $K/tokenizers.txt 2>&1; ld tokenizers
for t in 1 2; do $py bench/hf_tokenizers_bench.py $b/tokenizers_data --threads $t > $K/hf_t$t.txt 2>&1; done
# two single-thread processes at once: what a Python user gets from 2 cores for encode() one by one
$py bench/hf_tokenizers_bench.py $b/tokenizers_data > $K/hf_p2a.txt 2>&1 & $py bench/hf_tokenizers_bench.py $b/tokenizers_data > $K/hf_p2b.txt 2>&1; wait; ld hf
$b/bench_text --benchmark_min_time=2 --benchmark_out=$K/text.json --benchmark_out_format=json > $K/text.txt 2>&1; ld text
$py -W ignore bench/py_text_bench.py --repeat 5 > $K/pytext_p1.txt 2>&1
$py -W ignore bench/py_text_bench.py --repeat 5 > $K/pytext_p2a.txt 2>&1 & $py -W ignore bench/py_text_bench.py --repeat 5 > $K/pytext_p2b.txt 2>&1; wait; ld pytext
for t in 1 2; do
  SKIP_RSS=1 SKIP_PROFILE=1 KEEP=$K/ts_t$t ROUNDS=3 PTP_BENCH_ITERS=2 PTP_BENCH_THREADS=$t PTP_PYTHON=$py \
    bench/train_step.sh build > $K/train_step_t$t.txt 2>&1; ld train_step_t$t
done
KEEP=$K/batched ROUNDS=3 PTP_BENCH_ITERS=2 bench/batched_passes.sh build > $K/batched.txt 2>&1; ld batched
PTP_PYTHON=$py $py bench/e2e_fewglue.py --build build --tasks CB,RTE --methods vanilla,ptp-rn,ptp-adv --seeds 1 \
  --threads 1,2 --max-steps 4 --max-eval 64 --keep /work/main/results/e2e_fewglue/2026-12-06-idle > $K/e2e.txt 2>&1; ld e2e
echo done >> $K/load.txt
