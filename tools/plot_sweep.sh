#!/usr/bin/env bash
# tools/plot_sweep.sh — a sweep's scores as strip plots (one panel per task, one column of
# points per method, one point per seed, the mean as a horizontal bar).
#   tools/plot_sweep.sh RESULTS.jsonl [OUT.png] [METRIC]
# RESULTS.jsonl: ptp::sweep's results file (include/ptp/sweep.hpp; one JSON object per line
# with "task", "method", "seed", "metrics"). METRIC: accuracy by default; a line without it
# uses its first metric. A torn last line (no '\n') is skipped, as the C++ reader does.
# Needs gnuplot (Debian gnuplot-nox); pngcairo when present, else png.
set -euo pipefail
(($# >= 1)) || { echo "usage: $0 RESULTS.jsonl [OUT.png] [METRIC]" >&2; exit 2; }
in="$1"; out="${2:-${1%.jsonl}.png}"; metric="${3:-accuracy}"
[[ -s $in ]] || { echo "plot_sweep: $in is missing or empty" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot_sweep: gnuplot not found (apt install gnuplot-nox)" >&2; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# task<TAB>method<TAB>seed<TAB>score<TAB>majority (empty when absent) — string fields by regex (keys are unique per object;
# "config" holds no task/method/seed/metrics keys)
awk -v metric="$metric" '
  function str(key,   m) { if (match($0, "\"" key "\":\"[^\"]*\"")) { m = substr($0, RSTART, RLENGTH); sub("^\"" key "\":\"", "", m); sub("\"$", "", m); return m } return "" }
  function num(src, key,   m) { if (match(src, "\"" key "\":-?[0-9.eE+-]+")) { m = substr(src, RSTART, RLENGTH); sub("^\"" key "\":", "", m); return m } return "" }
  {
    if (!match($0, /"metrics":\{[^}]*\}/)) next
    mets = substr($0, RSTART, RLENGTH)
    s = num(mets, metric)
    if (s == "" && match(mets, /:-?[0-9.eE+-]+/)) s = substr(mets, RSTART + 1, RLENGTH - 1)
    t = str("task"); m = str("method"); seed = num($0, "seed"); maj = num(mets, "majority")
    if (t != "" && m != "" && s != "") printf "%s\t%s\t%s\t%s\t%s\n", t, m, seed, s, maj
  }' "$in" > "$tmp/rows.tsv"
# a torn tail has no "metrics":{…} closing brace or no newline; the regex drops the former
[[ -s $tmp/rows.tsv ]] || { echo "plot_sweep: no finished runs with metrics in $in" >&2; exit 1; }

mapfile -t tasks < <(cut -f1 "$tmp/rows.tsv" | awk '!seen[$0]++')
mapfile -t methods < <(cut -f2 "$tmp/rows.tsv" | awk '!seen[$0]++')
nt=${#tasks[@]}; nm=${#methods[@]}
# scores ×100 when they look like fractions
scale=$(awk -F'\t' '{ if ($4 > 1.0001) big = 1 } END { print big ? 1 : 100 }' "$tmp/rows.tsv")
xt=""
for ((j = 0; j < nm; j++)); do xt+="${xt:+, }'${methods[j]}' $j"; done

term="png"
[[ $(gnuplot -e 'set terminal' 2>&1) == *pngcairo* ]] && term="pngcairo"  # no grep -q pipe under pipefail
cols=$(( nt < 3 ? nt : 3 )); rows=$(( (nt + cols - 1) / cols ))
{
  echo "set terminal $term size $((120 + 90 * nm > 420 ? 120 + 90 * nm : 420))*$cols,380*$rows"
  echo "set output '$out.tmp.png'"
  echo "set multiplot layout $rows,$cols"
  echo "set xtics ($xt) rotate by -30; set xrange [-0.6:$((nm - 1)).6]; set grid ytics"
  # the key above the plot, outside it: its 'seeds' sample dot must not read as a seed's score
  echo "set offsets 0, 0, graph 0.05, graph 0.05; set key above horizontal"
  echo "set ylabel '$metric ($( ((scale == 100)) && echo '%' || echo 'as recorded'))'"
  for ((i = 0; i < nt; i++)); do
    awk -F'\t' -v t="${tasks[i]}" -v sc="$scale" -v list="$(IFS=$'\t'; echo "${methods[*]}")" '
      BEGIN { n = split(list, ms, "\t"); for (k = 1; k <= n; k++) idx[ms[k]] = k - 1 }
      $1 == t { x = idx[$2]; c[x]++; s[x] += $4 * sc; print x, $3, $4 * sc, c[x] > "'"$tmp/pts$i.dat"'" }
      END { for (x in c) print x, s[x] / c[x], c[x] > "'"$tmp/mean$i.dat"'" }' "$tmp/rows.tsv"
    # the majority-class rate of the task's report split (the same in every record of a task)
    maj=$(awk -F'\t' -v t="${tasks[i]}" -v sc="$scale" '$1 == t && $5 != "" { print $5 * sc; exit }' "$tmp/rows.tsv")
    echo "set title \"${tasks[i]//\"/}\" noenhanced"
    echo "plot '$tmp/mean$i.dat' using 1:2:(0.3) with xerrorbars pt -1 lw 3 lc rgb '#4477aa' title 'mean', \\"
    if [[ -n $maj ]]; then
      echo "     $maj with lines dt 2 lw 2 lc rgb '#777777' title 'majority class', \\"
    fi
    echo "     '$tmp/pts$i.dat' using (\$1 + (\$4 - 3) * 0.07):3 with points pt 7 ps 1.2 lc rgb '#cc3311' title 'seeds'"
  done
  echo "unset multiplot"
} > "$tmp/plot.gp"
[[ -n ${PTP_PLOT_GP:-} ]] && cp "$tmp/plot.gp" "$PTP_PLOT_GP"  # the script itself, for tests
gnuplot "$tmp/plot.gp" 2> "$tmp/err" || { cat "$tmp/err" >&2; rm -f "$out.tmp.png"; exit 1; }
[[ -s $out.tmp.png ]] || { rm -f "$out.tmp.png"; echo "plot_sweep: gnuplot wrote nothing to $out" >&2; exit 1; }
mv -f "$out.tmp.png" "$out"  # atomic: a reader never sees a half-written picture
echo "$out"
