#!/usr/bin/env bash
# What a restart costs for a large run: `drover resume` of an N-task run whose drover was killed with all but 10
# tasks ended (its journal holds 2N lines), against the least any tool can do with that journal (awk reading it and
# counting the ended tasks), measured in the same run. Prints both times, the ratio and drover's peak memory.
# Usage: bench/recovery.sh [N]     (default 1000000)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
n=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/bin/drover" --version >/dev/null   # builds the jar if needed, outside the timings

# A run of N `true` tasks, killed as soon as it is recorded; then its journal is made to say that all but the last
# 10 tasks ran (writing them for real would take N process starts).
printf 'name: big\ncommand: ["true"]\nrange: {start: 0, end: %d}\n' "$n" > "$work/big.yaml"
(cd "$work" && exec "$here/bin/drover" run big.yaml --distribution-strategy sequential --runs-dir runs \
  >/dev/null 2>&1) &
drover=$!
until compgen -G "$work/runs/*/journal.log" >/dev/null && grep -q '^end' "$work"/runs/*/journal.log; do sleep 0.1; done
kill -9 "$drover" 2>/dev/null || true
wait "$drover" 2>/dev/null || true
run_dir=$(echo "$work"/runs/*)
journal="$run_dir/journal.log"
ended=$(grep -c '^end' "$journal")
awk -v from="$ended" -v to=$((n - 10)) 'BEGIN { t = 1700000000000;
  for (i = from + 1; i < to; i++) printf "start\t%d\t%d\t1\nend\t%d\t%d\t1\tSUCCEEDED\t0\t\n", t, i, t + 3, i }' \
  >> "$journal"

seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
t_awk=$(seconds awk -F '\t' '$1 == "end" { ended[$3] = 1 } END { print length(ended) }' "$journal")
rss_file="$work/rss"
t_drover=$(seconds /usr/bin/time -f '%M' -o "$rss_file" "$here/bin/drover" resume "$(basename "$run_dir")" \
  --runs-dir "$work/runs")
state=$(grep -m1 -o '"state": *"[A-Z]*"' "$run_dir/report.json")

printf 'journal: %d lines, %s MB; after resume: %s\n' "$(wc -l < "$journal")" \
  "$(( $(stat -c %s "$journal") / 1048576 ))" "$state"
printf '%-24s %9.2fs\n' "drover resume" "$t_drover" "awk over the journal" "$t_awk"
printf 'drover/awk %.2fx; drover peak RSS %d MB (JVM start, replay, the last 10 tasks and report.json included)\n' \
  "$(echo "$t_drover / $t_awk" | bc -l)" "$(( $(tail -1 "$rss_file") / 1024 ))"
