#!/usr/bin/env bash
# Builds docker/Dockerfile into drover:test and proves the image against containers on the host network: drop
# folder, queue and events (an Artemis container made from the Maven Central distribution, configured by
# compose.yaml), health, the compose health check, non-root user, graceful stop, and a kill mid-run followed by a
# new container on the same volumes. Ends with "N passed, N failed"; exit 1 on any failure.
#
# Run as root from anywhere, after `mvn package` (target/drover.jar is copied in, not built again):
#   docker/test-image.sh
# It starts its own Docker engine (private data root, no bridge, no iptables) and stops it by pid at the end; it
# never uses another engine. Missing tools (docker.io, debootstrap, docker-compose, curl) are installed with apt.
# Where no image registry answers, the base image is made from Debian packages (debootstrap) and passed as the
# RUNTIME_IMAGE build argument. DROVER_IMAGE_TEST_KEEP=1 keeps the work folder (and its engine data); giving that
# folder again as DROVER_IMAGE_TEST_DIR reuses its base images.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
here="$repo/docker"
source "$here/test-image-lib.sh"

started=$SECONDS
work=${DROVER_IMAGE_TEST_DIR:-$(mktemp -d /tmp/drover-image.XXXXXX)}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools and engine ------------------------------------------------------------------------------------------------
[[ $EUID -eq 0 ]] || die "run as root: it starts a Docker engine"
[[ -f "$repo/target/drover.jar" ]] || die "no $repo/target/drover.jar: run mvn -DskipTests package first"
install_missing
start_engine
compose_json >"$work/compose.json" || die "docker/compose.yaml does not validate (see above)"
pass "compose.yaml validates ($compose_tool config)"

# --- base image, Artemis image, drover image ------------------------------------------------------------------------
runtime_image=eclipse-temurin:17-jre
if "$docker" image inspect drover-test/jre17:bookworm >/dev/null 2>&1; then
  runtime_image=drover-test/jre17:bookworm
elif ! "$docker" image inspect "$runtime_image" >/dev/null 2>&1 &&
     ! timeout 60 "$docker" pull -q "$runtime_image" >/dev/null 2>&1; then
  note "no registry answers: making the base image from Debian packages"
  runtime_image=drover-test/jre17:bookworm
  make_debian_jre "$runtime_image"
fi
build_artemis_image "$runtime_image"
t0=$SECONDS
if DOCKER_BUILDKIT=1 "$docker" build --network host -q -f "$here/Dockerfile" -t drover:test \
     --build-arg RUNTIME_IMAGE="$runtime_image" --build-arg JAR=prebuilt "$repo" >"$work/build.log" 2>&1; then
  pass "docker/Dockerfile builds drover:test ($((SECONDS - t0)) s, $(image_mb drover:test) MB, base $(image_mb "$runtime_image") MB)"
else
  cat "$work/build.log"; die "docker/Dockerfile does not build"
fi
check_build_context "$runtime_image"

# --- one broker and one drover, configured as compose.yaml configures them ------------------------------------------
broker_port=$(free_port) web_port=$(free_port) observe_port=$(free_port)
start_artemis "$broker_port" "$web_port"
queues=$(artemis_cli queue stat --json --maxRows 1000)
for q in $(queue_names); do
  check "the broker compose.yaml configures has the ANYCAST queue $q before drover connects" queue_is_anycast "$q" "$queues"
done

vols="$work/vols"
rm -rf "$vols"; mkdir -p "$vols/inbox" "$vols/runs" "$vols/marks"
chown -R 10001:10001 "$vols"
t0=$(date +%s%N)
start_drover drover-a
if wait_for 60 ready "$observe_port"; then
  ready_ms=$((($(date +%s%N) - t0) / 1000000))
  pass "/observe/health/ready answers UP, $ready_ms ms after docker run"
else
  fail "/observe/health/ready never answered UP"; "$docker" logs drover-a 2>&1 | tail -30
fi
check "the compose health check command passes inside the container" compose_healthcheck drover-a
check "drover runs as uid 10001, not root" runs_as_10001 drover-a
check "the JVM's heap is half the container's memory limit (1 GiB: 512 MiB)" heap_mb_is 512 drover-a

# --- drop folder ----------------------------------------------------------------------------------------------------
drop "$vols/inbox" hello.yaml <"$repo/examples/hello.yaml"
if wait_for 60 test -f "$vols/inbox/.done/hello.yaml"; then
  pass "a manifest dropped into the bind-mounted inbox reaches .done"
  run=$(run_dir_of "$vols/runs" hello)
  check "its report.json says SUCCEEDED, on the runs volume" grep -q '"state" *: *"SUCCEEDED"' "$run/report.json"
  check "its task logs are on the runs volume" grep -q "hello from drover" "$run/logs/greet.log"
  check "its tasks' CPU and memory were measured (drover-launch is in the image)" \
    grep -q '"usage":{"wallSeconds":' "$run/report.json"
else
  fail "hello.yaml never reached .done: $(ls -A "$vols/inbox" "$vols/inbox/.failed" "$vols/inbox/.error" 2>&1 | tr '\n' ' ')"
fi

# --- queue and events -----------------------------------------------------------------------------------------------
queued=$(printf 'name: queued\ntasks:\n  - id: q1\n    command: [echo, from the queue]\n')
if submit_to_queue "$queued"; then
  pass "drover submit sends a manifest to the Artemis container"
  check "the queued manifest's run finishes SUCCEEDED" wait_for 60 run_succeeded "$vols/runs" queued
  check "its events (run-accepted, task-finished, run-finished) arrive on the events queue" \
    wait_for 90 events_arrived queued
else
  fail "drover submit could not send to the broker"
fi

# --- docker stop (SIGTERM) with a task running: the task finishes, the process ends by itself -----------------------
slow=$(printf 'name: slow\ntasks:\n  - id: s1\n    command: [sh, -c, "echo begin >> /marks/slow; sleep 4; echo end >> /marks/slow"]\n')
printf '%s\n' "$slow" | drop "$vols/inbox" slow.yaml
if wait_for 30 grep -q begin "$vols/marks/slow"; then
  t0=$SECONDS
  "$docker" stop -t 45 drover-a >/dev/null
  took=$((SECONDS - t0)) code=$(exit_code drover-a)
  check "docker stop ends drover in $took s (within the documented 30 s + margin), exit code $code, not killed" \
    test "$took" -le 40 -a "$code" != 137
  check "the task running at docker stop was let finish" grep -q end "$vols/marks/slow"
else
  fail "the slow task never started"
fi
"$docker" rm -f drover-a >/dev/null 2>&1

# --- docker kill mid-run, then a new container on the same volumes -------------------------------------------------
crash_manifest >"$work/crash.yaml"
drop "$vols/inbox" crash.yaml <"$work/crash.yaml"
start_drover drover-b
if wait_for 90 ends_at_least 3 "$vols/marks/crash"; then
  "$docker" kill drover-b >/dev/null
  note "killed drover-b with $(count end "$vols/marks/crash") of 12 tasks ended"
  "$docker" rm -f drover-b >/dev/null 2>&1
  check "the crash run had not finished when the container was killed" test ! -f "$vols/inbox/.done/crash.yaml"
  start_drover drover-c
  if wait_for 120 test -f "$vols/inbox/.done/crash.yaml"; then
    pass "after docker kill, a new container on the same volumes finishes the run (crash.yaml in .done)"
    check_each_task_ended_once "$vols/marks/crash" 12
    check "the recovered run's report says 12 tasks SUCCEEDED" \
      grep -q '"succeeded" *: *12' "$(run_dir_of "$vols/runs" crash)/report.json"
  else
    fail "the killed run was not finished by the new container"; "$docker" logs drover-c 2>&1 | tail -20
  fi
else
  fail "the crash run's tasks did not start"; "$docker" logs drover-b 2>&1 | tail -20
fi

note "took $((SECONDS - started)) s"
summary
