#!/usr/bin/env bash
# `./ptp <command> --help` answers and exits 0 for every command, doing nothing else (issue 19:
# `./ptp landscape --help` once printed its help and then failed on a missing TSV, and
# `./ptp fuzz --help` looked for a fuzz target named --help).
#   test_command_help.sh <repo root>   (PTP_BUILD_DIR names the configured build)
set -euo pipefail
root=$1
for c in setup build test bench plot-sweep fuzz results; do
  out=$(bash "$root/ptp" "$c" --help)
  [[ $out == "  ./ptp $c"* ]] || { echo "./ptp $c --help printed: $out" >&2; exit 1; }
done
out=$(bash "$root/ptp" landscape --help 2>/dev/null)
[[ $out == *"ptp landscape: loss surface"* ]] || { echo "./ptp landscape --help printed: $out" >&2; exit 1; }
out=$(bash "$root/ptp" demo --help 2>/dev/null)
[[ $out == *"ptp demo: "* ]] || { echo "./ptp demo --help printed: $out" >&2; exit 1; }
[[ $(bash "$root/ptp" --help) == *"./ptp demo"* ]]
# ./ptp landscape passes every flag through and plots the table the program names
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && bash "$root/ptp" landscape --data superglue --task CB --max-train 8 --max-eval 8 --epochs 1 --batch-size 8 \
   --max-length 32 --prefix-length 2 --points 3 --examples 8 --methods vanilla --threads 1 --space prompt --out-dir out > log)
[[ -s $work/out/landscape-prompt-vanilla.csv && -s $work/out/landscape-prompt.png ]] || { cat "$work/log" >&2; exit 1; }
# ./ptp demo: the user's --out wins over the default the script passes first; the PNG lands beside it
(cd "$work" && bash "$root/ptp" demo --seeds 1 --methods vanilla --epochs 1 --max-train 14 --max-eval 14 --threads 1 \
   --out mine/demo.jsonl > demo.log)
[[ -s $work/mine/demo.jsonl && -s $work/mine/demo.png && ! -e $work/results ]] || { cat "$work/demo.log" >&2; exit 1; }
echo "every ./ptp command answers --help; ./ptp landscape and ./ptp demo plot what the program wrote"
