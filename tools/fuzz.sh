#!/usr/bin/env bash
# tools/fuzz.sh — build the libFuzzer targets (fuzz/) with clang and run them.
#   tools/fuzz.sh all <seconds>        every target, one after the other, <seconds> each
#   tools/fuzz.sh <target> <seconds>   one target (tokenizer_json, vocab_files, ...)
#   tools/fuzz.sh list                 the target names
# Builds into build-fuzz/ (clang++ -fsanitize=fuzzer,address,undefined), runs each target
# with -jobs=1 -max_total_time=<seconds> -timeout=10 -rss_limit_mb=2048 on a COPY of
# fuzz/corpus/<target>/ + fuzz/regressions/<target>/ under build-fuzz/run/<target>/ (nothing
# is written into the repository), prints executions, coverage (cov/ft) and findings per
# target, and exits non-zero if any target found a crash, hang, leak or out-of-memory.
# Reproducers land in build-fuzz/run/<target>/artifacts/; replay one with
#   build-fuzz/fuzz_<target> <file>
# Environment: PTP_FUZZ_BUILD overrides build-fuzz/. PTP_FUZZ_RESUME=1 continues the last
# run's evolved corpus in build-fuzz/run/<target>/ instead of starting from the seeds (a long
# campaign in pieces); each piece is appended to build-fuzz/run/<target>/campaign.tsv and the
# summary line adds the campaign's CPU seconds and executions so far.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PTP_FUZZ_BUILD:-$here/build-fuzz}"
log() { printf '[fuzz] %s\n' "$*" >&2; }
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

which="${1:-}"; seconds="${2:-60}"
[[ -n $which ]] || usage
all_targets=(tokenizer_json vocab_files tokenizer_encode wordnet superglue sweep_results hf_config safetensors)
if [[ $which == list ]]; then printf '%s\n' "${all_targets[@]}"; exit 0; fi
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { log "seconds must be a positive integer"; usage; }

command -v clang++ >/dev/null || { log "clang++ not found (./ptp setup installs clang and libclang-rt-14-dev)"; exit 1; }
cmake_args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo)
cmake -S "$here/fuzz" -B "$build" "${cmake_args[@]}" >/dev/null

if [[ $which == all ]]; then
  targets=()
  for t in "${all_targets[@]}"; do
    if [[ -f $here/fuzz/$t.cpp ]]; then targets+=("$t"); fi
  done
else
  [[ -f $here/fuzz/$which.cpp ]] || { log "no target '$which' (fuzz/$which.cpp)"; exit 2; }
  targets=("$which")
fi
log "building ${targets[*]}"
cmake --build "$build" -j "${PTP_JOBS:-2}" --target "${targets[@]/#/fuzz_}" >/dev/null

failed=()
summary=()
for t in "${targets[@]}"; do
  work="$build/run/$t"
  resumed=0
  if [[ ${PTP_FUZZ_RESUME:-0} == 1 && -d $work/corpus ]]; then
    if [[ -n $(find "$work/artifacts" -type f 2>/dev/null) ]]; then
      log "$t: the last run left reproducers in $work/artifacts; replay and fix them before resuming"
      exit 1
    fi
    resumed=1
  else
    rm -rf "$work" # a fresh campaign: seeds only
  fi
  mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
  for src in "$here/fuzz/corpus/$t" "$here/fuzz/regressions/$t"; do
    [[ -d $src ]] && find "$src" -maxdepth 1 -type f -exec cp -t "$work/corpus" {} +
  done
  seeds=$(find "$work/corpus" -type f | wc -l)
  dict=()
  [[ -f $here/fuzz/$t.dict ]] && dict=("-dict=$here/fuzz/$t.dict")
  if ((resumed)); then log "$t: ${seconds}s, resuming a corpus of $seeds files"; else log "$t: ${seconds}s from $seeds seed files"; fi
  rm -f "$work/time.txt"
  set +e
  # -jobs=1: one fuzzing process (libFuzzer runs it as a child and logs to fuzz-0.log).
  timer=(); [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f '%e %U %S' -o "$work/time.txt")
  (cd "$work" && TMPDIR="$work/tmp" \
     ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=0" \
     UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
     "${timer[@]}" "$build/fuzz_$t" -jobs=1 -workers=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" "$work/corpus" \
       >"$work/driver.log" 2>&1)
  rc=$?
  set -e
  out="$work/fuzz-0.log"; [[ -f $out ]] || out="$work/driver.log"
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out" | tail -1 | awk '{print $2}')
  [[ -n $execs ]] || execs=$(grep -oE '^#[0-9]+' "$out" | tail -1 | tr -d '#')
  last=$(grep -E '^#[0-9]+.*cov: ' "$out" | tail -1)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last"); ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([^ ]+).*/\1/p' <<<"$last")
  artifacts=$(find "$work/artifacts" -type f | wc -l)
  # wall and CPU seconds (the CPU share tells how contended the machine was)
  read -r wall_s cpu_s < <([[ -f $work/time.txt ]] && awk 'END { printf "%.0f %.0f\n", $1, $2 + $3 }' "$work/time.txt" || echo "? ?")
  times=""; [[ $wall_s != "?" ]] && times="wall=${wall_s}s cpu=${cpu_s}s"
  kinds=$(grep -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-zA-Z -]+|runtime error: .{0,80}|uncaught exception|deadly signal|fuzz finding: .{0,80}' "$out" | sort | uniq -c | sed 's/^ *//' | paste -sd ';' - || true)
  status=ok
  if ((rc != 0 || artifacts > 0)); then status=FAIL; failed+=("$t"); fi
  # The campaign: one line per piece (UTC end, wall s, CPU s, executions, cov, ft, findings).
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$wall_s" "$cpu_s" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$artifacts" >>"$work/campaign.tsv"
  campaign=""
  if ((resumed)); then
    campaign=$(awk -F'\t' '{ n++; c += $3; e += $4 } END { printf "campaign: %d pieces, cpu=%.0fs execs=%.0f", n, c, e }' "$work/campaign.tsv")
  fi
  line=$(printf '%-17s %-4s %-21s execs=%-10s cov=%-6s ft=%-6s corpus=%-12s findings=%s %s%s' "$t" "$status" "$times" \
         "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$artifacts" "${kinds:+($kinds) }" "${campaign:+[$campaign]}")
  summary+=("$line")
  echo "$line"
  if [[ $status == FAIL ]]; then
    log "$t: rc=$rc; log $out; reproducers:"; find "$work/artifacts" -type f -printf '  %p\n' >&2
    grep -m1 -A25 -E '==ERROR|runtime error|uncaught|fuzz finding|deadly signal|Timeout' "$out" >&2 || tail -30 "$out" >&2
  fi
  rm -rf "$work/tmp"
done
printf '\n[fuzz] summary (%ss per target)\n' "$seconds"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then log "findings in: ${failed[*]}"; exit 1; fi
