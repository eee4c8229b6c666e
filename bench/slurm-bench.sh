#!/usr/bin/env bash
# slurm-bench.sh - drover's slurm strategy against a hand-written `sbatch --array` of the same work, on the local
# single-node cluster (src/test/slurm/start-local-slurm.sh). Not a test: prints figures. Run as root from anywhere:
#
#   bench/slurm-bench.sh            # 5000 `true` tasks; BENCH_TASKS=N to change, BENCH_MAX_ARRAY_SIZE=M (default 1001)
#
# Prints: the number of sbatch calls drover made (target ceil(tasks/MaxArraySize)), seconds until all were submitted,
# the makespan of each (first submission to last task finished) and their ratio, and the squeue / scontrol / sacct /
# scancel calls per minute drover made while it ran. The calls are counted by shims put first on drover's PATH.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BENCH_TASKS:-5000}
MAX=${BENCH_MAX_ARRAY_SIZE:-1001}
WORK=${BENCH_DIR:-/tmp/drover-slurm-bench}
rm -rf "$WORK"; mkdir -p "$WORK/shims" "$WORK/baseline"
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

SLURM_LOCAL_MAX_ARRAY_SIZE=$MAX bash "$HERE/src/test/slurm/start-local-slurm.sh" >"$WORK/start.log" 2>&1 \
  || { cat "$WORK/start.log"; exit 1; }
[ -f "$HERE/target/drover.jar" ] || (cd "$HERE" && mvn -B -q -o -DskipTests package)
max=$(scontrol show config | sed -n 's/^MaxArraySize *= *//p')
cpus=$(sinfo -h -o %c | head -1)
echo "cluster: $cpus CPUs, MaxArraySize $max; $N tasks of \`true\`"

# shims: count every SLURM command drover runs
for c in sbatch squeue scontrol sacct scancel; do
  real=$(command -v "$c")
  printf '#!/bin/sh\necho "%s $(date +%%s.%%N)" >> %s/calls.log\nexec %s "$@"\n' "$c" "$WORK" "$real" > "$WORK/shims/$c"
  chmod +x "$WORK/shims/$c"
done

wait_gone() { # wait until none of the given job ids is in the queue
  while [ -n "$(squeue -h --jobs="$1" -o %i 2>/dev/null | head -1)" ]; do sleep 0.5; done
}

# 1. hand-written arrays: ceil(N/max) x sbatch --array=0-(k-1), each element runs `true`
cat > "$WORK/baseline/job.sh" <<'JOB'
#!/bin/sh
#SBATCH --mem=10M
#SBATCH --output=/dev/null
true
JOB
t0=$(now); ids=(); left=$N
while [ "$left" -gt 0 ]; do
  k=$(( left < max ? left : max ))
  ids+=("$(sbatch --parsable --array=0-$((k - 1)) "$WORK/baseline/job.sh")")
  left=$(( left - k ))
done
t1=$(now); wait_gone "$(IFS=,; echo "${ids[*]}")"; t2=$(now)
base_submit=$(dt "$t0" "$t1"); base_span=$(dt "$t0" "$t2")
echo "hand-written sbatch --array: ${#ids[@]} sbatch calls, submitted in ${base_submit}s, makespan ${base_span}s"

# 2. drover, same work
cat > "$WORK/bench.yaml" <<YAML
name: bench
command: ["true"]
range: {start: 0, end: $N}
YAML
: > "$WORK/calls.log"
t0=$(now)
PATH="$WORK/shims:$PATH" "$HERE/bin/drover" run "$WORK/bench.yaml" --distribution-strategy slurm \
  --job-resources mem=10M --runs-dir "$WORK/runs" > "$WORK/drover.out" 2>&1 || true
t2=$(now)
run=$(ls "$WORK/runs")
journal="$WORK/runs/$run/journal.log"
accepted=$(awk -F'\t' '$1=="accepted"{printf "%.3f", $2/1000; exit}' "$journal")
submitted=$(awk -F'\t' '$1=="backend" && $4!=""{t=$2} END{printf "%.3f", t/1000}' "$journal")
finished=$(awk -F'\t' '$1=="finished"{printf "%.3f", $2/1000}' "$journal")
first_sbatch=$(awk '$1=="sbatch"{print $2; exit}' "$WORK/calls.log")
span=$(dt "$first_sbatch" "$finished")
minutes=$(awk -v a="$t0" -v b="$t2" 'BEGIN{print (b-a)/60}')
count() { grep -c "^$1 " "$WORK/calls.log" || true; }
cat "$WORK/drover.out"
echo "drover: $(count sbatch) sbatch calls (target $(( (N + max - 1) / max ))), all submitted $(dt "$accepted" "$submitted")s after acceptance"
echo "drover: makespan ${span}s (first sbatch to run finished; whole command incl. JVM start $(dt "$t0" "$t2")s)"
echo "makespan ratio drover / hand-written: $(awk -v a="$span" -v b="$base_span" 'BEGIN{printf "%.2f", a/b}')"
for c in squeue scontrol sacct scancel; do
  n=$(count "$c"); echo "drover: $c $n calls, $(awk -v n="$n" -v m="$minutes" 'BEGIN{printf "%.1f", n/m}')/min"
done
