# Shared by start-local-slurm.sh and stop-local-slurm.sh (sourced, not run).

# running PID: exists and is not a zombie. (PID 1 of this sandbox reaps orphans only lazily,
# so a dead daemon can linger as a zombie for seconds; kill -0 succeeds on zombies.)
running() {
  local st
  st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' /proc/"$1"/stat 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
pid_alive() {
  local name=$1 pf=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  running "$pid" || return 1
  [[ $(cat /proc/"$pid"/comm 2>/dev/null) == "$name"* ]]
}
