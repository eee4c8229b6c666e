#!/usr/bin/env bash
# Per-task overhead of drover's multiprocessing lane against xargs and GNU parallel, measured in the same run.
# Tasks are `true`, 2 at a time, at two sizes; the slope between the sizes is the per-task cost without start-up.
# Usage: bench/local-overhead.sh [SMALL] [LARGE]     (defaults 2000 20000)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
small=${1:-2000}
large=${2:-20000}
command -v parallel >/dev/null || { apt-get update -qq && apt-get install -y -qq parallel >/dev/null; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/bin/drover" --version >/dev/null   # builds the jar if needed, outside the timings

seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }

declare -A t
for n in "$small" "$large"; do
  printf 'name: bench\ncommand: ["true"]\nrange: {start: 0, end: %d}\n' "$n" > "$work/m$n.yaml"
  t[drover$n]=$(cd "$work" && seconds "$here/bin/drover" run "m$n.yaml" --jobs 2 --runs-dir "$work/runs")
  t[xargs$n]=$(seconds sh -c "seq $n | xargs -P 2 -n 1 true")
  t[parallel$n]=$(seconds sh -c "seq $n | parallel -j 2 true")
done

printf '%-8s %10s %10s %10s %14s %16s\n' tasks drover xargs parallel drover/xargs drover/parallel
for n in "$small" "$large"; do
  printf '%-8s %9.2fs %9.2fs %9.2fs %13.2fx %15.2fx\n' "$n" "${t[drover$n]}" "${t[xargs$n]}" "${t[parallel$n]}" \
    "$(echo "${t[drover$n]} / ${t[xargs$n]}" | bc -l)" "$(echo "${t[drover$n]} / ${t[parallel$n]}" | bc -l)"
done
slope() { echo "(${t[$1$large]} - ${t[$1$small]}) * 1000 / ($large - $small)" | bc -l; }
printf 'per-task cost (slope): drover %.3f ms, xargs %.3f ms, parallel %.3f ms\n' "$(slope drover)" "$(slope xargs)" "$(slope parallel)"
printf 'targets: drover/xargs <= 1.2 at %d tasks; drover faster than parallel at both sizes\n' "$large"
