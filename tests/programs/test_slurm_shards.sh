#!/usr/bin/env bash
# Sharded sweeps (issue 20): docs/slurm/ptp_sweep.sbatch runs here without Slurm, once per
# array index with SLURM_ARRAY_TASK_ID/COUNT set by hand, on a tiny ptp_fewglue sweep; the
# merge of the shard files must hold the unsharded sweep's runs with the same metrics and
# write the same summary tables. Then: a re-run shard resumes (runs nothing), a shard given
# twice to the merge is reported as duplicates and kept once, a run recorded with another
# configuration is refused naming both files, and malformed --shard / Slurm variables are
# named.
#   test_slurm_shards.sh <ptp_fewglue binary> <sbatch script>
set -euo pipefail
bin=$1
script=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX SLURM_ARRAY_TASK_STEP
sweep=(--tasks CB --methods vanilla,ptp-rn --seeds 1-2 --max-steps 1 --max-eval 8 --max-train 8 --threads 1 --quiet)
n=3  # 4 runs over 3 shards: 2, 1, 1

for ((i = 0; i < n; i++)); do
  SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$n PTP_BIN=$bin PTP_OUT=$work/sharded.jsonl \
    bash "$script" "${sweep[@]}" > "$work/shard-$i.log" 2>&1 || { cat "$work/shard-$i.log"; exit 1; }
  grep -q "shard $i of $n (from the Slurm array" "$work/shard-$i.log"
done
shards=("$work"/sharded.shard-{0,1,2}-of-3.jsonl)
test "$(cat "${shards[@]}" | wc -l)" -eq 4
test -s "$work/sharded.shard-0-of-3.summary.md"

# a shard re-run resumes: nothing left to run
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=$n PTP_BIN=$bin PTP_OUT=$work/sharded.jsonl bash "$script" "${sweep[@]}" > "$work/rerun.log" 2>&1
grep -q "0 runs finished, 1 skipped" "$work/rerun.log"
test "$(wc -l < "$work/sharded.shard-1-of-3.jsonl")" -eq 1

"$bin" --merge "${shards[@]}" --out "$work/merged.jsonl" > "$work/merge.log" 2> "$work/merge.err"
grep -q "merged 4 runs from 3 files" "$work/merge.log"
test ! -s "$work/merge.err"
"$bin" "${sweep[@]}" --out "$work/whole.jsonl" > "$work/whole.log" 2>&1 || { cat "$work/whole.log"; exit 1; }

python3 - "$work/whole.jsonl" "$work/merged.jsonl" <<'PY'
import json, sys
def runs(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        out[r["key"]] = r["metrics"]
    return out
whole, merged = runs(sys.argv[1]), runs(sys.argv[2])
assert len(whole) == 4, f"{len(whole)} unsharded runs, want 4"
assert set(whole) == set(merged), f"runs differ: {sorted(set(whole) ^ set(merged))}"
for key, m in whole.items():
    assert m == merged[key], f"{key}: unsharded {m} != merged {merged[key]}"
print(f"merged shards: the unsharded sweep's {len(whole)} runs, metrics equal")
PY
cmp "$work/whole.summary.md" "$work/merged.summary.md"
cmp "$work/whole.summary.csv" "$work/merged.summary.csv"

# a shard given twice: its run is a duplicate, kept once
"$bin" --merge "${shards[@]}" "$work/sharded.shard-2-of-3.jsonl" --out "$work/dup.jsonl" > "$work/dup.log" 2> "$work/dup.err"
grep -q "duplicate run CB/.*sharded.shard-2-of-3.jsonl" "$work/dup.err"
grep -q "merged 4 runs from 4 files .* (1 duplicates dropped)" "$work/dup.log"
cmp "$work/merged.jsonl" "$work/dup.jsonl"

# the same run with another configuration is refused, naming both files
python3 - "$work/sharded.shard-1-of-3.jsonl" "$work/other.jsonl" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
r["config"]["lr"] = r["config"]["lr"] * 2
del r["key"]  # the reader derives it from the config
open(sys.argv[2], "w").write(json.dumps(r) + "\n")
PY
if "$bin" --merge "${shards[@]}" "$work/other.jsonl" --out "$work/bad.jsonl" > /dev/null 2> "$work/bad.err"; then
  echo "a run with two configurations was merged" >&2; exit 1
fi
grep -q "two different run identities: .*sharded.shard-1-of-3.jsonl has .*other.jsonl has" "$work/bad.err"
test ! -e "$work/bad.jsonl"

# malformed shards are named, and nothing runs
expect_error() {  # expect_error PATTERN ENV... -- ARGS...
  local pattern=$1; shift
  local envs=(); while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  if env "${envs[@]}" "$bin" "${sweep[@]}" "$@" > /dev/null 2> "$work/err"; then
    echo "accepted: ${envs[*]} $*" >&2; exit 1
  fi
  grep -q -- "$pattern" "$work/err" || { echo "want '$pattern', got:" >&2; cat "$work/err" >&2; exit 1; }
}
expect_error "--shard: shard 3 is not in 0..2" -- --shard 3/3 --out "$work/e.jsonl"
expect_error "--shard: 'x' is not i/n" -- --shard x --out "$work/e.jsonl"
expect_error "--shard: a sharded sweep needs --out" -- --shard 0/2
expect_error "SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT" SLURM_ARRAY_TASK_ID=1 -- --out "$work/e.jsonl"
expect_error "SLURM_ARRAY_TASK_COUNT: 'four'" SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=four -- --out "$work/e.jsonl"
expect_error "SLURM_ARRAY_TASK_COUNT=2 does not match SLURM_ARRAY_TASK_MIN=1..SLURM_ARRAY_TASK_MAX=5" \
  SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=5 -- --out "$work/e.jsonl"
expect_error "no such results file" -- --merge "$work/absent.jsonl" --out "$work/e.jsonl"
ls "$work"/e*.jsonl 2> /dev/null && { echo "a refused sweep wrote results" >&2; exit 1; }
echo "sharded sweep: $n Slurm array tasks merged into the unsharded sweep's results and summary"
