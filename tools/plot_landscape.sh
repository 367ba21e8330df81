#!/usr/bin/env bash
# tools/plot_landscape.sh — the loss-landscape picture (docs/algorithms.md §6) from
# ptp_landscape's CSVs.
#   tools/plot_landscape.sh OUT.png A.csv [B.csv …]
# One column per CSV (method): a 3-D surface (pm3d) above a contour map, all at the same z
# scale. Each CSV is `a,b,loss` on a square grid; titles come from the JSON beside it (same
# name, .json: method, center_loss, max_increase, mean_increase, sharpness_radius, space).
# Needs gnuplot (Debian gnuplot-nox); uses the pngcairo terminal when present, else png.
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 OUT.png A.csv [B.csv …]" >&2; exit 2; }
out="$1"; shift
command -v gnuplot >/dev/null || { echo "plot_landscape: gnuplot not found (apt install gnuplot-nox)" >&2; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# json_val FILE KEY → the value after "KEY": (one key per line, as ptp_landscape writes it)
json_val() { [[ -f $1 ]] || return 0; sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -n1; }

zmin="" zmax=""
n=0
for csv in "$@"; do
  [[ -s $csv ]] || { echo "plot_landscape: $csv is missing or empty" >&2; exit 1; }
  # gnuplot's grid format: a blank line between rows of constant a
  awk -F, 'NR > 1 { if (NR > 2 && $1 != prev) print ""; print $1, $2, $3; prev = $1 }' "$csv" > "$tmp/$n.dat"
  read -r lo hi < <(awk -F, 'NR > 1 { if (min == "" || $3 < min) min = $3; if (max == "" || $3 > max) max = $3 } END { print min, max }' "$csv")
  [[ -z $zmin ]] && zmin=$lo zmax=$hi
  zmin=$(awk -v a="$zmin" -v b="$lo" 'BEGIN { print (b < a ? b : a) }')
  zmax=$(awk -v a="$zmax" -v b="$hi" 'BEGIN { print (b > a ? b : a) }')
  json="${csv%.csv}.json"
  method="$(json_val "$json" method)"; [[ -n $method ]] || method="$(basename "${csv%.csv}")"
  space="$(json_val "$json" space)"
  c="$(json_val "$json" center_loss)"; m="$(json_val "$json" max_increase)"; a="$(json_val "$json" mean_increase)"
  r="$(json_val "$json" sharpness_radius)"
  if [[ -n $m ]]; then
    printf -v title '%s%s\\nL(x_0)=%.3f  max dL (r<=%s)=%.3f  mean dL=%.3f' "$method" "${space:+ ($space)}" "$c" "$r" "$m" "$a"
  else
    title="$method"
  fi
  printf '%s\n' "$title" > "$tmp/$n.title"
  n=$((n + 1))
done
# a flat surface still needs a range
zmax=$(awk -v a="$zmin" -v b="$zmax" 'BEGIN { print (b - a < 1e-9 ? a + 1e-3 : b) }')

term="png"
[[ $(gnuplot -e 'set terminal' 2>&1) == *pngcairo* ]] && term="pngcairo"  # no grep -q pipe under pipefail
if [[ $term == pngcairo ]]; then termline="set terminal pngcairo size $((620 * n)),1100 enhanced font 'Sans,11'"
else termline="set terminal png size $((620 * n)),1100 enhanced"; fi

# the title line of panel $1 (row 1: surfaces, row 2: contours, the same titles)
title_line() { echo "set title \"$(tr -d '"' < "$tmp/$1.title")\" noenhanced"; }
{
  echo "$termline"
  echo "set output '$out.tmp.png'"
  echo "set multiplot layout 2,$n"
  echo "set zrange [$zmin:$zmax]; set cbrange [$zmin:$zmax]"
  echo "set palette rgbformulae 33,13,10"
  echo "set xlabel 'a (gradient dir.)'; set ylabel 'b (random dir., orthogonal)'"
  for ((i = 0; i < n; i++)); do
    title_line "$i"
    echo "unset view; set view 55,35; set pm3d; set surface; unset contour; set hidden3d; set zlabel 'loss' rotate"
    echo "splot '$tmp/$i.dat' using 1:2:3 with pm3d notitle"
    echo "unset hidden3d"
  done
  for ((i = 0; i < n; i++)); do
    title_line "$i"
    echo "set view map; set pm3d at b; unset surface; set contour base; set cntrparam levels incremental $zmin,($zmax-$zmin)/12.0,$zmax; unset zlabel"
    echo "splot '$tmp/$i.dat' using 1:2:3 with pm3d notitle, '$tmp/$i.dat' using 1:2:3 with lines lc rgb 'black' nosurface notitle"
    echo "unset contour; set surface"
  done
  echo "unset multiplot"
} > "$tmp/plot.gp"
gnuplot "$tmp/plot.gp" 2> "$tmp/err" || { cat "$tmp/err" >&2; rm -f "$out.tmp.png"; exit 1; }
grep -v '^$' "$tmp/err" | grep -vi 'warning' >&2 || true
[[ -s $out.tmp.png ]] || { rm -f "$out.tmp.png"; echo "plot_landscape: gnuplot wrote nothing to $out" >&2; exit 1; }
mv -f "$out.tmp.png" "$out"  # atomic: a reader never sees a half-written picture
echo "$out"
