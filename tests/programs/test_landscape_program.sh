#!/usr/bin/env bash
# ptp_landscape end to end on (a little of) SuperGLUE CB and on the demo's task: train and save a prompt, load the
# checkpoint and evaluate again — the same grid, byte for byte; a checkpoint of another
# configuration is refused naming the tensor; the JSON records the real example count.
#   test_landscape_program.sh <ptp_landscape binary>
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--data superglue --task CB --max-train 16 --max-eval 8 --epochs 1 --batch-size 8 --max-length 48
        --points 3 --examples 32 --methods vanilla --threads 1)
"$bin" "${common[@]}" --prefix-length 2 --checkpoint "$work/ck" --out-dir "$work/a" > "$work/a.log"
test -s "$work/ck/CB-vanilla-seed1.pt"
grep -q "trained 1 epochs" "$work/a.log"
grep -qx "surfaces: $work/a/landscape-embeddings.tsv" "$work/a.log"  # what ./ptp landscape plots
[[ $(awk -F'\t' 'NR == 2 { print $6 }' "$work/a/landscape-embeddings.tsv") == "$work/a/landscape-embeddings-vanilla.csv" ]]
"$bin" "${common[@]}" --prefix-length 2 --checkpoint "$work/ck/CB-vanilla-seed1.pt" --out-dir "$work/b" > "$work/b.log"
grep -q "loaded" "$work/b.log"
cmp "$work/a/landscape-embeddings-vanilla.csv" "$work/b/landscape-embeddings-vanilla.csv"
[[ $(wc -l < "$work/a/landscape-embeddings-vanilla.csv") -eq 10 ]]  # header + 3×3 grid
grep -q '"examples": 8' "$work/a/landscape-embeddings-vanilla.json"  # 8 selection examples, not the 32 asked for
if "$bin" "${common[@]}" --prefix-length 3 --checkpoint "$work/ck/CB-vanilla-seed1.pt" --out-dir "$work/c" \
    > /dev/null 2> "$work/err"; then
  echo "a checkpoint of prefix length 2 was accepted by a prefix-length-3 run" >&2
  exit 1
fi
grep -q "parts.prefix.embedding.weight" "$work/err"
# --data demo trains on the demo's task (supersense by default) and names its checkpoint so
"$bin" --data demo --max-train 14 --max-eval 14 --epochs 1 --points 3 --examples 8 --methods vanilla --threads 1 \
  --checkpoint "$work/dk" --out-dir "$work/d" > "$work/d.log"
test -s "$work/dk/WordNet-supersense-vanilla-seed1.pt"
grep -q "WordNet-supersense: surface on 8 examples of dev" "$work/d.log"
echo "ptp_landscape: trained + saved, reloaded (identical grid), mismatched checkpoint refused, demo task"
