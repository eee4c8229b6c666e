#!/usr/bin/env bash
# What a large run costs: for each size N, a local run of N `true` tasks with --jobs 2 against `xargs -P 2` in the
# same run (wall time), drover's peak RSS, the files and bytes the run leaves, the report's size and write time (the
# journal's `finished` line, written after the report, minus its last task end), and `--dry-run` under slurm of a
# range generator (scripts rebuild tasks from the template) and of an items: list (a task table per array), at
# MaxArraySize 1001 (a production default; DROVER_SLURM_MAX_ARRAY_SIZE overrides what scontrol would say). Then a
# `tasks:` list of N tasks (about 55 bytes each: its own id and argument, every 100th its own jobResources, so two
# resource groups): `drover validate`, `--dry-run` under slurm and a local run with --jobs 2 (wall, peak RSS).
# Usage: bench/scale.sh [N...]     (default 100000 1000000; a smaller N for a quick look)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
sizes=("${@:-100000 1000000}")
read -r -a sizes <<< "${sizes[*]}"
export DROVER_SLURM_MAX_ARRAY_SIZE=${DROVER_SLURM_MAX_ARRAY_SIZE:-1001}
export DROVER_MANIFEST_MAX_BYTES=${DROVER_MANIFEST_MAX_BYTES:-1000000000} # a 10^6-task list is 55 MB
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/bin/drover" --version >/dev/null   # builds the jar if needed, outside the timings

# timed CMD...: runs CMD, sets $wall (s) and $rss (MB, the largest process /usr/bin/time saw)
timed() {
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc -l)
  rss=$(( $(tail -1 "$work/rss") / 1024 ))
}

printf '%-8s %-20s %8s %8s %7s %14s %9s %8s\n' tasks what wall/s vs-xargs RSS/MB "files MB" report/MB report/s
for n in "${sizes[@]}"; do
  printf 'name: scale\ncommand: ["true"]\nrange: {start: 0, end: %d}\n' "$n" > "$work/m.yaml"
  timed sh -c "seq $n | xargs -P 2 -n 1 true"
  xargs_wall=$wall
  printf '%-8s %-20s %8.1f %8s %7s %14s %9s %8s\n' "$n" "xargs -P 2" "$xargs_wall" 1.00 - - - -

  rm -rf "$work/runs"
  timed "$here/bin/drover" run "$work/m.yaml" --jobs 2 --runs-dir "$work/runs"
  run_dir=$(echo "$work"/runs/*)
  files=$(find "$run_dir" -type f | wc -l)
  mb=$(du -sm "$run_dir" | cut -f1)
  report=$(find "$run_dir" -maxdepth 1 \( -name report.json -o -name tasks.jsonl \) -printf '%s\n' | awk '{ s += $1 } END { print s }')
  report_s=$(awk -F '\t' '$1 == "end" { last = $2 } $1 == "finished" { done = $2 } END { printf "%.2f", (done - last) / 1000 }' \
    "$run_dir/journal.log")
  printf '%-8s %-20s %8.1f %8.2f %7d %14s %9s %8s\n' "$n" "drover run (local)" "$wall" \
    "$(echo "$wall / $xargs_wall" | bc -l)" "$rss" "$files $mb" "$(echo "scale=1; $report / 1048576" | bc)" "$report_s"

  # items: the same arguments spelled out, one per task (a list's task table)
  seq -f '  - "c%.0f"' 0 $((n - 1)) | { printf 'name: scale-items\ncommand: [convert, "{item}"]\nitems:\n'; cat; } \
    > "$work/items.yaml"
  for manifest in m items; do
    rm -rf "$work/runs"
    timed "$here/bin/drover" run "$work/$manifest.yaml" --distribution-strategy slurm --job-resources mem=100M \
      --dry-run --runs-dir "$work/runs"
    printf '%-8s %-20s %8.1f %8s %7d %14s %9s %8s\n' "$n" "--dry-run slurm $manifest" "$wall" - "$rss" \
      "$(find "$work/runs" -type f | wc -l) $(du -sm --apparent-size "$work/runs" | cut -f1)" - -
  done

  # tasks: the same run spelled out as a list
  awk -v n="$n" 'BEGIN { print "name: scale-list\ntasks:"; for (i = 0; i < n; i++) printf \
    "  - {id: t%07d, command: [\"true\", in/c%07d.tif]%s}\n", i, i, i % 100 ? "" : ", jobResources: {mem: 2G}" }' \
    > "$work/list.yaml"
  timed "$here/bin/drover" validate "$work/list.yaml"
  printf '%-8s %-20s %8.1f %8s %7d %14s %9s %8s\n' "$n" "validate list" "$wall" - "$rss" - - -
  rm -rf "$work/runs"
  timed "$here/bin/drover" run "$work/list.yaml" --distribution-strategy slurm --job-resources mem=100M \
    --dry-run --runs-dir "$work/runs"
  printf '%-8s %-20s %8.1f %8s %7d %14s %9s %8s\n' "$n" "--dry-run slurm list" "$wall" - "$rss" \
    "$(find "$work/runs" -type f | wc -l) $(du -sm --apparent-size "$work/runs" | cut -f1)" - -
  rm -rf "$work/runs"
  timed "$here/bin/drover" run "$work/list.yaml" --jobs 2 --runs-dir "$work/runs"
  printf '%-8s %-20s %8.1f %8.2f %7d %14s %9s %8s\n' "$n" "drover run list" "$wall" \
    "$(echo "$wall / $xargs_wall" | bc -l)" "$rss" "$(find "$work/runs" -type f | wc -l) $(du -sm "$work/runs" | cut -f1)" - -
done
