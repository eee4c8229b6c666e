#!/usr/bin/env bash
# Throughput of the queue intake: N one-task manifests sent to `drover serve --queue` (bin/drover) on a persistent
# Artemis broker (embedded, from the test classpath), timed from the first send to the N-th run-finished event,
# against a plain JMS loop on the same broker in the same run (receive + commit per message, no work); the
# manifests run with the default strategy (multiprocessing: a lane of its own per run) and with sequential.
# Usage: bench/queue-throughput.sh [N [KEY=VALUE...]]     (N default 200; settings for serve, e.g. drover.queue.consumers=8)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
n=${1:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/bin/drover" --version >/dev/null   # builds the jar if needed, outside the timings
(cd "$here" && mvn -B -q -o test-compile dependency:build-classpath -Dmdep.includeScope=test \
   -Dmdep.outputFile="$work/cp.txt") >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 2; }
java -cp "$here/target/test-classes:$here/target/classes:$(cat "$work/cp.txt")" \
  dev.drover.serve.QueueThroughput "$n" "$work" "$here/bin/drover" "${@:2}"
