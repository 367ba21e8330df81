#!/usr/bin/env bash
# ptp_fewglue --report-file (issue 17): the SuperGLUE validation sets are not in ../shared,
# so a file in their format is cut from CB's training lines, and the run must report on that
# file: the majority rate it records is the file's own. A missing file and a malformed line
# fail with the path (and line) named.
#   test_report_file.sh <ptp_fewglue binary>
set -euo pipefail
bin=$1
shared=${PTP_SHARED_DIR:?PTP_SHARED_DIR names the shared data folder}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 5 of the first 12 CB lines would make a different majority than FewGLUE's CB: take lines
# 40-51 of the full training set, whose label counts the check below recomputes.
sed -n '40,51p' "$shared/data/superglue/CB/train.jsonl" > "$work/val.jsonl"
[[ $(wc -l < "$work/val.jsonl") -eq 12 ]]
run=(--tasks CB --preset cpu/CB --seeds 1 --methods vanilla --max-steps 2 --eval-every 1 --threads 1 --quiet)
"$bin" "${run[@]}" --report-file "$work/val.jsonl" --out "$work/r.jsonl" > "$work/log"
python3 - "$work/val.jsonl" "$work/r.jsonl" <<'PY'
import collections, json, sys
labels = [json.loads(l)["label"] for l in open(sys.argv[1])]
want = max(collections.Counter(labels).values()) / len(labels)
recs = [json.loads(l) for l in open(sys.argv[2])]
assert len(recs) == 1, f"{len(recs)} records, want 1"
m = recs[0]["metrics"]
assert abs(m["majority"] - want) < 1e-12, f"majority {m['majority']} is not the report file's {want}"
acc = m["accuracy"] * len(labels)
assert abs(acc - round(acc)) < 1e-9, f"accuracy {m['accuracy']} is not k/{len(labels)}"
print(f"report file: 12 examples, majority {want:.4f}, accuracy {m['accuracy']:.4f}")
PY
# a missing report file is named
if "$bin" "${run[@]}" --report-file "$work/absent.jsonl" --out "$work/x.jsonl" > /dev/null 2> "$work/err"; then
  echo "a missing --report-file was accepted" >&2; exit 1
fi
grep -q "absent.jsonl: cannot open" "$work/err"
# a malformed line is named with its file
{ head -n 3 "$work/val.jsonl"; echo '{"premise": "cut off'; } > "$work/bad.jsonl"
if "$bin" "${run[@]}" --report-file "$work/bad.jsonl" --out "$work/y.jsonl" > /dev/null 2> "$work/err"; then
  echo "a malformed --report-file was accepted" >&2; exit 1
fi
grep -q "bad.jsonl:4: malformed JSON" "$work/err"
test ! -s "$work/x.jsonl" && test ! -s "$work/y.jsonl"
echo "ptp_fewglue --report-file: reported on the given file; missing and malformed files named"
