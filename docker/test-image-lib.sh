# Helpers of docker/test-image.sh (sourced): results, the private engine, images, containers and the checks' probes.
# Uses the caller's $repo, $here and $work.

passed=0 failed=0
note() { printf '  .. %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }
die() { fail "$*"; exit 1; }
summary() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; }

# Polls a condition until it holds or the deadline (seconds) passes.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.3
  done
}

listening() { [[ -n $(ss -Htln "sport = :$1") ]]; }

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    listening "$p" || { echo "$p"; return; }
  done
}

# --- tools --------------------------------------------------------------------------------------------------------
install_missing() {
  local want=()
  command -v dockerd >/dev/null || want+=(docker.io)
  command -v debootstrap >/dev/null || want+=(debootstrap)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || want+=(debian-archive-keyring)
  command -v curl >/dev/null || want+=(curl)
  command -v ss >/dev/null || want+=(iproute2)
  command -v ps >/dev/null || want+=(procps)
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    want+=(docker-compose)
  fi
  python3 -c 'import yaml' 2>/dev/null || want+=(python3-yaml)
  [[ ${#want[@]} -eq 0 ]] && return
  note "installing ${want[*]}"
  # The package must not start a system dockerd (with its bridge and iptables rules): no service starts meanwhile.
  local policy=/usr/sbin/policy-rc.d own_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${want[@]}" >"$work/apt.log" 2>&1
  local rc=$?
  [[ -n $own_policy ]] && rm -f "$policy"
  [[ $rc -eq 0 ]] || { tail -20 "$work/apt.log"; die "apt-get install ${want[*]} failed"; }
}

# --- the private engine ---------------------------------------------------------------------------------------------
# Its own data root, exec root, pid file and socket; no bridge, no iptables: containers use the host network only.
# Its own containerd namespaces too: where a system containerd runs, dockerd uses it instead of starting its own.
start_engine() {
  docker=$(command -v /usr/bin/docker docker | head -1)   # the package's client has BuildKit built in
  export DOCKER_HOST="unix://$work/engine/docker.sock"
  mkdir -p "$work/engine"
  dockerd --data-root "$work/engine/data" --exec-root "$work/engine/exec" --pidfile "$work/engine/docker.pid" \
    -H "$DOCKER_HOST" --bridge=none --iptables=false --ip-masq=false --ip6tables=false \
    --containerd-namespace drover-test --containerd-plugins-namespace drover-test-plugins \
    >"$work/engine/dockerd.log" 2>&1 &
  dockerd_pid=$!
  wait_for 30 "$docker" version || { tail -20 "$work/engine/dockerd.log"; die "the Docker engine did not start"; }
  local left; left=$("$docker" ps -aq)   # from an earlier run's kept folder
  [[ -z $left ]] || "$docker" rm -f $left >/dev/null
  note "engine pid $dockerd_pid, $("$docker" version -f '{{.Server.Version}}'), data root $work/engine/data"
}

cleanup() {
  local rc=$?
  if [[ -n ${dockerd_pid:-} ]]; then
    local ids; ids=$("$docker" ps -aq 2>/dev/null)
    [[ -n $ids ]] && "$docker" rm -f $ids >/dev/null 2>&1
    local containerd_pid; containerd_pid=$(cat "$work/engine/exec/containerd/containerd.pid" 2>/dev/null)
    kill "$dockerd_pid" 2>/dev/null
    local deadline=$((SECONDS + 30))
    while kill -0 "$dockerd_pid" 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do sleep 0.2; done
    kill -9 "$dockerd_pid" 2>/dev/null
    # the engine's own containerd ends with it; make sure, by its pid
    [[ -n $containerd_pid ]] && kill "$containerd_pid" 2>/dev/null
  fi
  if [[ ${DROVER_IMAGE_TEST_KEEP:-} == 1 ]]; then
    echo "kept $work"
  else
    # the volume folders hold files of uid 10001; overlay mounts are gone with the engine
    grep -q " $work/" /proc/mounts && awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r |
      xargs -r umount -l 2>/dev/null
    rm -rf "$work"
  fi
  exit "$rc"
}

# --- compose.yaml, read as JSON --------------------------------------------------------------------------------------
compose_json() {
  local yaml
  if docker compose version >/dev/null 2>&1; then
    compose_tool="docker compose"; yaml=$(docker compose -f "$here/compose.yaml" config) || return 1
  else
    # Compose v1 (Debian's docker-compose 1.29) predates the top-level project name: it checks the rest
    compose_tool="docker-compose (v1: without the top-level name)"
    yaml=$(python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); d.pop("name"); yaml.safe_dump(d, sys.stdout)' \
      "$here/compose.yaml" | docker-compose --project-directory "$here" -f - config) || return 1
  fi
  printf '%s\n' "$yaml" | python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'
}

# compose_value PATH: one value of the resolved compose file (a.b.c; lists as one JSON line, strings as they are).
compose_value() {
  python3 - "$work/compose.json" "$1" <<'EOF'
import json, sys
node = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    node = node[int(key)] if isinstance(node, list) else node[key]
print(node if isinstance(node, str) else json.dumps(node))
EOF
}

# compose_env SERVICE: its environment as NAME=VALUE lines
compose_env() {
  python3 - "$work/compose.json" "$1" <<'EOF'
import json, sys
env = json.load(open(sys.argv[1]))["services"][sys.argv[2]].get("environment", {})
for k, v in (env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)):
    print(f"{k}={v}")
EOF
}

# drover's queues, from config/application.properties (the one home of their names); "events": that one only
queue_names() {
  local keys='queue\.manifests|queue\.errors|events\.destination'
  [[ ${1:-} == events ]] && keys='events\.destination'
  sed -n -E "s/^drover\.($keys) *= *(queue:)?//p" "$repo/config/application.properties"
}

# --- images ---------------------------------------------------------------------------------------------------------
image_mb() { echo $(($("$docker" image inspect -f '{{.Size}}' "$1") / 1000000)); }

# A Java 17 runtime image from Debian packages, with the mirror apt uses here when this is Debian.
make_debian_jre() {
  local mirror= suite=bookworm rootfs="$work/rootfs"
  if grep -qx 'ID=debian' /etc/os-release 2>/dev/null; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [[ -n $mirror ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  fi
  local t0=$SECONDS
  debootstrap --variant=minbase --include=openjdk-17-jre-headless "$suite" "$rootfs" "${mirror:-http://deb.debian.org/debian}" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$docker" import --change 'ENV LANG=C.UTF-8' - "$1" >/dev/null || die "docker import failed"
  rm -rf "$rootfs"
  note "made $1 with debootstrap in $((SECONDS - t0)) s"
}

# Artemis from the Maven Central distribution, started the way the public apache/activemq-artemis image is
# (ARTEMIS_USER, ARTEMIS_PASSWORD, ANONYMOUS_LOGIN, EXTRA_ARGS), so that compose.yaml's settings can be used as
# they are; TEST_ARGS add the loopback-only ports a host-network test needs.
build_artemis_image() {
  local version=2.40.0 ctx="$work/artemis"
  mkdir -p "$ctx"
  (cd "$repo" && mvn -B -q dependency:copy -Dartifact="org.apache.activemq:apache-artemis:$version:tar.gz:bin" \
    -DoutputDirectory="$ctx") >"$work/artemis-download.log" 2>&1 || { cat "$work/artemis-download.log"; die "cannot download Artemis"; }
  cat >"$ctx/run.sh" <<'EOF'
#!/bin/bash
set -e
cd /var/lib/artemis-instance
if [[ ! -f etc/broker.xml ]]; then
  login=--require-login; [[ ${ANONYMOUS_LOGIN,,} == true ]] && login=--allow-anonymous
  /opt/activemq-artemis/bin/artemis create --user "$ARTEMIS_USER" --password "$ARTEMIS_PASSWORD" --silent $login \
    $EXTRA_ARGS $TEST_ARGS . >/dev/null
fi
exec ./bin/artemis run
EOF
  chmod +x "$ctx/run.sh"
  cat >"$ctx/Dockerfile" <<EOF
FROM $1
ADD apache-artemis-$version-bin.tar.gz /opt/
RUN ln -s /opt/apache-artemis-$version /opt/activemq-artemis && mkdir /var/lib/artemis-instance
COPY run.sh /run.sh
ENTRYPOINT ["/run.sh"]
EOF
  DOCKER_BUILDKIT=1 "$docker" build --network none -q -t drover-test/artemis "$ctx" >"$work/artemis-build.log" 2>&1 ||
    { cat "$work/artemis-build.log"; die "the Artemis image does not build"; }
}

# .dockerignore must keep .git, target/classes, src/test... out of the context of both builders.
check_build_context() {
  local builder
  for builder in 0 1; do
    printf 'FROM %s\nCOPY . /ctx\n' "$1" |
      DOCKER_BUILDKIT=$builder "$docker" build --network none -q -f - -t drover-test/context "$repo" >"$work/context.log" 2>&1 ||
      { cat "$work/context.log"; fail "context image (DOCKER_BUILDKIT=$builder) does not build"; continue; }
    local seen; seen=$("$docker" run --rm --network none --entrypoint sh drover-test/context -c \
      'cd /ctx && ls -d .git target/classes src/test docker pom.xml src/main target/drover.jar bin routes config 2>/dev/null | tr "\n" " "')
    check "the build context (DOCKER_BUILDKIT=$builder) holds only what the image needs: $seen" \
      test "$seen" = "bin config pom.xml routes src/main target/drover.jar "
  done
}

# --- containers -----------------------------------------------------------------------------------------------------
start_artemis() {
  local env=() line extra
  while IFS= read -r line; do
    [[ $line == EXTRA_ARGS=* ]] && line=$(sed -E 's/--http-host [^ ]+/--http-host 127.0.0.1/' <<<"$line")
    env+=(-e "$line")
  done < <(compose_env artemis)
  "$docker" run -d --name artemis --network host "${env[@]}" \
    -e TEST_ARGS="--host 127.0.0.1 --default-port $1 --http-port $2 --no-amqp-acceptor --no-stomp-acceptor
      --no-hornetq-acceptor --no-mqtt-acceptor --nio --no-autotune --java-memory 1G" drover-test/artemis >/dev/null
  artemis_user=$(compose_env artemis | sed -n 's/^ARTEMIS_USER=//p')
  artemis_password=$(compose_env artemis | sed -n 's/^ARTEMIS_PASSWORD=//p')
  wait_for 90 listening "$1" || { "$docker" logs artemis 2>&1 | tail -20; die "Artemis did not listen on $1"; }
}

artemis_cli() {
  "$docker" exec artemis /var/lib/artemis-instance/bin/artemis "$@" --url "tcp://127.0.0.1:$broker_port" \
    --user "$artemis_user" --password "$artemis_password"
}

# queue_is_anycast NAME QUEUE-STAT-JSON: the broker made the queue NAME, ANYCAST, from its configuration
queue_is_anycast() {
  python3 -c '
import json, sys
q = [q for q in json.loads(sys.argv[2])["data"] if q["name"] == sys.argv[1]]
sys.exit(not (len(q) == 1 and q[0]["routingType"] == "ANYCAST" and q[0]["autoCreated"] == "false"))' "$1" "$2"
}

# A drover container as compose.yaml defines the drover service (environment, command), on the host network: the
# service name artemis resolves to the loopback, and the ports are the test's free ones.
start_drover() {
  local env=() line args
  while IFS= read -r line; do
    [[ $line == DROVER_QUEUE_URL=* ]] && line=$(sed -E "s/:[0-9]+\$/:$broker_port/" <<<"$line")
    env+=(-e "$line")
  done < <(compose_env drover)
  mapfile -t args < <(compose_value services.drover.command | python3 -c 'import json,sys; print(*json.load(sys.stdin), sep="\n")')
  "$docker" run -d --name "$1" --network host --add-host artemis:127.0.0.1 --memory 1g "${env[@]}" \
    -e DROVER_OBSERVE_PORT="$observe_port" \
    -v "$vols/inbox:/var/lib/drover/inbox" -v "$vols/runs:/var/lib/drover/runs" -v "$vols/marks:/marks" \
    drover:test "${args[@]}" >/dev/null
}

ready() { curl -sf "http://127.0.0.1:$1/observe/health/ready" | grep -q UP; }

# The healthcheck's test of compose.yaml, run as Docker would run it (CMD: argv; CMD-SHELL: sh -c).
compose_healthcheck() {
  local argv
  # compose config keeps the file's $$ escapes; the container gets them as $
  mapfile -t argv < <(compose_value services.drover.healthcheck.test |
    python3 -c 'import json,sys; print(*(a.replace("$$", "$") for a in json.load(sys.stdin)), sep="\n")')
  case ${argv[0]} in
    CMD) "$docker" exec "$1" "${argv[@]:1}" ;;
    CMD-SHELL) "$docker" exec "$1" sh -c "${argv[1]}" ;;
    *) return 1 ;;
  esac
}

# tini (PID 1 of the container) and drover's java both run as uid 10001, as seen from the host.
runs_as_10001() {
  local pid uids; pid=$("$docker" inspect -f '{{.State.Pid}}' "$1")
  uids=$(ps -o uid= -p "$pid" --ppid "$pid" | sort -u | tr -d ' ')
  [[ $uids == 10001 ]] && [[ $(ps -o comm= --ppid "$pid") == java ]]
}

exit_code() { "$docker" inspect -f '{{.State.ExitCode}}' "$1"; }

# drop DIR NAME: stdin into DIR/NAME the way a writer must, a dot-file renamed into place, owned by uid 10001
drop() { cat >"$1/.$2.tmp" && chown 10001:10001 "$1/.$2.tmp" && mv "$1/.$2.tmp" "$1/$2"; }

run_dir_of() { dirname "$(grep -l "^name: $2\$" "$1"/*/manifest.yaml | head -1)"; }
run_succeeded() { grep -q '"state" *: *"SUCCEEDED"' "$(run_dir_of "$@")/report.json"; }

submit_to_queue() {
  local env=()
  mapfile -t env < <(compose_env drover | grep '^DROVER_QUEUE_' | sed 's/^/-e\n/')
  printf '%s\n' "$1" >"$vols/marks/queued.yaml"
  "$docker" run --rm --network host --add-host artemis:127.0.0.1 "${env[@]}" -v "$vols/marks:/marks" \
    --entrypoint /opt/drover/bin/drover drover:test submit /marks/queued.yaml --queue "tcp://artemis:$broker_port" \
    >"$work/submit.log" 2>&1 || { cat "$work/submit.log"; return 1; }
}

# The events of run NAME on the events queue, read without taking them off.
events_arrived() {
  local id events; id=$(basename "$(run_dir_of "$vols/runs" "$1")")
  events=$(artemis_cli browser --destination "queue://$(queue_names events)" --message-count 1000 --verbose 2>&1)
  printf '%s\n' "$events" >"$work/events.txt"
  for e in run-accepted task-finished run-finished; do
    grep "$id" <<<"$events" | grep -q "\"$e\"" || return 1
  done
}

# 12 tasks, 2 at a time, each about 1.5 s; each appends "start"/"end" with its id, attempt and pid to /marks/crash.
crash_manifest() {
  cat <<'EOF'
name: crash
jobs: 2
command: [sh, -c, 'echo "start $DROVER_TASK_ID $DROVER_ATTEMPT $$" >> /marks/crash; sleep 1.5; echo "end $DROVER_TASK_ID $DROVER_ATTEMPT $$" >> /marks/crash']
range: {start: 0, end: 12}
EOF
}

count() { grep -c "^$1 " "$2" 2>/dev/null || echo 0; }
ends_at_least() { [[ $(count end "$2") -ge $1 ]]; }

# Every task of the crash run ended exactly once over both containers (a kill may cut a start short; never an end).
check_each_task_ended_once() {
  local twice missing
  twice=$(awk '$1 == "end" {n[$2]++} END {for (t in n) if (n[t] > 1) printf "%s(%d) ", t, n[t]}' "$1")
  missing=$(( $2 - $(awk '$1 == "end" {print $2}' "$1" | sort -u | wc -l) ))
  check "no task of the killed run completed twice${twice:+: twice: $twice}" test -z "$twice"
  check "every task of the killed run completed (missing: $missing)" test "$missing" -eq 0
}

# The largest heap the image's JVM options give under the container's memory limit, in MiB.
heap_mb_is() {
  local limit; limit=$("$docker" inspect -f '{{.HostConfig.Memory}}' "$2")
  [[ $("$docker" run --rm --network none --memory "$limit" --entrypoint sh drover:test -c \
      'java $DROVER_JAVA_OPTS -XX:+PrintFlagsFinal -version' | awk '$2 == "MaxHeapSize" {print int($4 / 1048576)}') == "$1" ]]
}
