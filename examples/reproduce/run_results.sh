#!/bin/sh
# The CPU result runs of docs/RESULTS.md, in order, each resumable (re-running skips the
# finished runs of its results file). Run from the repository root after building
# build-repro (cmake -S . -B build-repro -DCMAKE_BUILD_TYPE=Release + the torch prefix):
#   nohup examples/reproduce/run_results.sh > results/run_results.log 2>&1 &
# CPU cuts (2 shared cores): see docs/RESULTS.md, "What was cut". One thread per run, so two
# of these commands can share the machine.
set -e
B=build-repro/examples/reproduce
M=vanilla,ptp-rn,ptp-adv
# 1. the demo: WordNet WiC, 5 seeds x 3 methods (its defaults)
$B/ptp_demo --out results/demo.jsonl
# 2. SuperGLUE, P-tuning v2 deep prefix, frozen MiniLM (selection: 10% of train; report: 20% held out of train)
$B/ptp_superglue --tasks CB --methods $M --seeds 1-5 --epochs 3 --batch-size 16 --lr 1e-2 --prefix-length 16 \
  --max-length 96 --quiet --threads 1 --out results/superglue_cb_minilm.jsonl
$B/ptp_superglue --tasks COPA,WSC,RTE --methods $M --seeds 1-5 --epochs 3 --batch-size 16 --lr 1e-2 --prefix-length 16 \
  --max-length 96 --max-train 400 --max-eval 200 --pgd-steps 2 --quiet --threads 1 --out results/superglue_minilm.jsonl
# 3. FewGLUE_32dev, P-tuning cloze + prompt encoder, MiniLM tuned at 1e-5
$B/ptp_fewglue --tasks CB,RTE,WiC,COPA,BoolQ --methods $M --seeds 1-5 --epochs 10 --max-length 128 --max-eval 200 \
  --quiet --threads 1 --out results/fewglue_minilm.jsonl
