#!/usr/bin/env bash
# Test hosts on one machine: N network namespaces, each a "host" with its own hostname and one
# veth leg to a bridge that lives in a namespace of its own, so `mpirun --hostfile` runs a
# multi-node job over real TCP without ssh and without a cluster. See Cluster/README.md.
#
#   netns-hosts.sh up N [--slots K] [--rate RATE] [--delay DELAY] [--owner PID|--keep]
#                                     makes the hosts and prints the run's name (e.g. mvA1b2C3)
#   netns-hosts.sh mpirun RUN ARGS... runs mpirun inside the first host, with the run's
#                                     hostfile, rsh agent and TCP settings, then ARGS
#   netns-hosts.sh exec RUN HOST CMD... runs CMD on HOST (what the rsh agent does)
#   netns-hosts.sh hosts RUN          prints the hosts' names, one a line
#   netns-hosts.sh link RUN HOST up|down   takes a host's network link up or down
#   netns-hosts.sh pids RUN HOST      prints the ids of the processes running on HOST
#   netns-hosts.sh hide RUN HOST DIR  makes DIR look empty to processes started on HOST from now on
#   netns-hosts.sh down RUN           stops everything on the hosts and removes them
#   netns-hosts.sh gc                 removes runs whose owner process is gone
#
# Nothing is created in the machine's own network namespace: the bridge, every veth end and every
# address (198.51.100.0/24, a documentation range) exist only inside the run's namespaces, none
# of which has a default route, and nothing outside them ever sends to those addresses (mpirun
# itself runs inside the first host). Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN), iproute2 and
# util-linux's unshare.
#
# Teardown: a run belongs to an owner process (by default the one that called `up`); a detached
# reaper removes the run as soon as the owner is gone, so a test that fails, crashes or is killed
# still leaves nothing behind. `down` does the same at once.
set -euo pipefail

script=$(readlink -f "$0")
state_root=${MPIVAE_NETNS_STATE:-/run/mpivae-netns}
subnet_prefix=198.51.100
subnet=$subnet_prefix.0/24

die() { echo "netns-hosts: $*" >&2; exit 2; }

run_dir() {
  local run=$1
  [[ "$run" =~ ^mv[A-Za-z0-9]{6}$ ]] || die "'$run' is not a run name (mv and six letters or digits, as 'up' prints)"
  [ -d "$state_root/$run" ] || die "no run $run (no $state_root/$run; made by 'up', gone after 'down')"
  echo "$state_root/$run"
}

host_index() {  # RUN HOST -> i, for HOST = RUN-hi
  local run=$1 host=$2
  [[ "$host" =~ ^$run-h([0-9]+)$ ]] || die "'$host' is not a host of run $run (expected $run-h1, $run-h2, ...)"
  local i=${BASH_REMATCH[1]}
  grep -qx "$host" "$state_root/$run/hosts" || die "run $run has no host $host"
  echo "$i"
}

# Runs the rest of the command line on a host: in its network namespace, with a UTS namespace
# whose hostname is the host's name (so Open MPI counts one node a namespace) and a mount
# namespace of its own, where the run's /etc/hosts names every host and hidden folders are empty.
exec_on_host() {
  local run=$1 host=$2; shift 2
  local dir; dir=$(run_dir "$run")
  host_index "$run" "$host" >/dev/null
  [ $# -gt 0 ] || die "exec $run $host: no command given"
  exec ip netns exec "$host" unshare --uts --mount --propagation private \
    "$script" __inside "$dir" "$host" "$@"
}

inside() {  # runs in the host's fresh namespaces: finish them, then become the command
  local dir=$1 host=$2; shift 2
  hostname "$host"
  mount --bind "$dir/etc-hosts" /etc/hosts
  if [ -f "$dir/hide/$host" ]; then
    while IFS= read -r path; do
      [ -d "$path" ] && mount -t tmpfs -o size=1m,mode=0755 "mpivae-netns-hidden" "$path"
    done < "$dir/hide/$host"
  fi
  exec "$@"
}

teardown() {
  local run=$1 dir=$state_root/$1
  if [ -f "$dir/reaper" ]; then
    local reaper; reaper=$(cat "$dir/reaper")
    [ "$reaper" != "$$" ] && [ "$reaper" != "$PPID" ] && kill "$reaper" 2>/dev/null || true
  fi
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$run-(br|h[0-9]+)$" || true); do
    # A namespace lives on while any process is in it: stop those first.
    local pids; pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  rm -rf "$dir"
}

gc() {
  [ -d "$state_root" ] || return 0
  local dir run owner
  for dir in "$state_root"/mv*; do
    [ -d "$dir" ] || continue
    run=$(basename "$dir")
    owner=$(cat "$dir/owner" 2>/dev/null || echo 0)
    [ "$owner" = 0 ] && continue
    kill -0 "$owner" 2>/dev/null || teardown "$run"
  done
}

up() {
  [ $# -ge 1 ] || die "up: how many hosts? (up N)"
  local n=$1; shift
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 250 ] || die "up: the host count must be 1 to 250, got '$n'"
  local slots=1 rate="" delay="" owner=$PPID
  while [ $# -gt 0 ]; do
    case $1 in
      --slots) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "--slots takes a positive count, got '${2:-}'"; slots=$2; shift 2 ;;
      --rate) [[ "${2:-}" =~ ^[0-9.]+[kmgt]?bit$ ]] || die "--rate takes a tc rate such as 10gbit or 100mbit, got '${2:-}'"; rate=$2; shift 2 ;;
      --delay) [[ "${2:-}" =~ ^[0-9.]+(us|ms)$ ]] || die "--delay takes a time such as 25us or 1ms, got '${2:-}'"; delay=$2; shift 2 ;;
      --owner) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--owner takes a process id, got '${2:-}'"; owner=$2; shift 2 ;;
      --keep) owner=0; shift ;;
      *) die "up: unknown option '$1'" ;;
    esac
  done
  [ "$(id -u)" -eq 0 ] || die "up: needs root (network namespaces)"
  command -v ip >/dev/null && command -v unshare >/dev/null || die "up: needs iproute2 (ip) and util-linux (unshare)"

  gc
  mkdir -p "$state_root"
  # mktemp picks a name no other run holds, atomically; namespaces and hostnames derive from it.
  local dir run
  dir=$(mktemp -d "$state_root/mvXXXXXX")
  run=$(basename "$dir")
  echo "$owner" > "$dir/owner"
  mkdir -p "$dir/hide"
  # From here on a failure (or die) removes what was made.
  up_made=0
  trap '[ "$up_made" = 1 ] || teardown "$run"' EXIT
  local br=$run-br
  ip netns add "$br"
  ip -n "$br" link set lo up
  ip -n "$br" link add br0 type bridge
  ip -n "$br" link set br0 up
  : > "$dir/hosts"; : > "$dir/hostfile"
  printf '127.0.0.1\tlocalhost\n' > "$dir/etc-hosts"
  local i host
  for i in $(seq 1 "$n"); do
    host=$run-h$i
    ip netns add "$host"
    ip -n "$host" link set lo up
    # Both ends are made inside the bridge's namespace and one moves straight to the host's:
    # neither ever appears in the machine's own namespace.
    ip -n "$br" link add "leg$i" type veth peer name eth0 netns "$host"
    ip -n "$br" link set "leg$i" master br0
    ip -n "$br" link set "leg$i" up
    ip -n "$host" addr add "$subnet_prefix.$i/24" dev eth0
    ip -n "$host" link set eth0 up
    if [ -n "$rate" ] || [ -n "$delay" ]; then shape "$host" "$rate" "$delay"; fi
    echo "$host" >> "$dir/hosts"
    echo "$host slots=$slots" >> "$dir/hostfile"
    printf '%s\t%s\n' "$subnet_prefix.$i" "$host" >> "$dir/etc-hosts"
  done
  # The rsh agent Open MPI calls as `agent [options] HOST COMMAND`: options (ssh's) are ignored.
  cat > "$dir/rsh" <<EOF
#!/bin/sh
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1; shift
exec "$script" exec "$run" "\$host" sh -c "\$*"
EOF
  chmod +x "$dir/rsh"
  up_made=1
  if [ "$owner" != 0 ]; then
    # Detached (own session), so it outlives the caller's process group being killed.
    setsid "$script" __reap "$run" "$owner" </dev/null >/dev/null 2>&1 &
    echo $! > "$dir/reaper"
  fi
  echo "$run"
}

# Egress shaping on a host's leg, which shapes everything the host sends. netem gives rate and
# delay; kernels without it (CONFIG_NET_SCH_NETEM unset) can still limit the rate with tbf.
shape() {
  local host=$1 rate=$2 delay=$3
  if ip netns exec "$host" tc qdisc add dev eth0 root netem ${rate:+rate $rate} ${delay:+delay $delay} limit 100000 2>/dev/null; then
    return 0
  fi
  [ -z "$delay" ] || die "up: --delay needs the netem queueing discipline, which this kernel lacks (CONFIG_NET_SCH_NETEM); --rate alone works with tbf"
  # A burst of 4 ms at the rate (a timer tick at HZ 250), so tbf can reach it, and no more: a
  # larger bucket refills while the ranks compute and lets a whole step's gradients through at
  # the veth's own speed (4 MB of burst made 1 Gbit/s look like 2 in a training step).
  local bits
  bits=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = substr(r, length(n "") + 1, 1);
    f = (u == "k") ? 1e3 : (u == "m") ? 1e6 : (u == "g") ? 1e9 : (u == "t") ? 1e12 : 1; printf "%.0f", n * f }')
  local burst=$(( bits / 8 / 250 ))
  [ "$burst" -ge 65536 ] || burst=65536
  ip netns exec "$host" tc qdisc add dev eth0 root tbf rate "$rate" burst "$burst" latency 50ms
}

reap() {
  local run=$1 owner=$2
  while kill -0 "$owner" 2>/dev/null && [ -d "$state_root/$run" ]; do sleep 0.5; done
  [ -d "$state_root/$run" ] && teardown "$run"
}

mpirun_on_hosts() {
  local run=$1; shift
  local dir; dir=$(run_dir "$run")
  local first; first=$(head -n 1 "$dir/hosts")
  local root=()
  [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
  exec_on_host "$run" "$first" mpirun "${root[@]}" --hostfile "$dir/hostfile" \
    --mca plm_rsh_agent "$dir/rsh" --mca plm_rsh_no_tree_spawn 1 \
    --mca btl tcp,vader,self --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" "$@"
}

cmd=${1:-}; [ $# -gt 0 ] && shift
case $cmd in
  up) up "$@" ;;
  down) [ $# -eq 1 ] || die "down RUN"; run_dir "$1" >/dev/null; teardown "$1" ;;
  gc) gc ;;
  hosts) [ $# -eq 1 ] || die "hosts RUN"; cat "$(run_dir "$1")/hosts" ;;
  exec) [ $# -ge 3 ] || die "exec RUN HOST COMMAND..."; exec_on_host "$@" ;;
  mpirun) [ $# -ge 1 ] || die "mpirun RUN ARGS..."; mpirun_on_hosts "$@" ;;
  link)
    [ $# -eq 3 ] && [[ "$3" =~ ^(up|down)$ ]] || die "link RUN HOST up|down"
    run_dir "$1" >/dev/null; host_index "$1" "$2" >/dev/null
    ip -n "$2" link set eth0 "$3" ;;
  pids) [ $# -eq 2 ] || die "pids RUN HOST"; run_dir "$1" >/dev/null; host_index "$1" "$2" >/dev/null; ip netns pids "$2" ;;
  hide)
    [ $# -eq 3 ] || die "hide RUN HOST DIR"
    dir=$(run_dir "$1"); host_index "$1" "$2" >/dev/null
    [ -d "$3" ] || die "hide: '$3' is not a directory"
    readlink -f "$3" >> "$dir/hide/$2" ;;
  __inside) inside "$@" ;;
  __reap) reap "$@" ;;
  *) die "usage: netns-hosts.sh up N [--slots K] [--rate R] [--delay D] [--owner PID|--keep] | mpirun RUN ARGS... | exec RUN HOST CMD... | hosts RUN | link RUN HOST up|down | pids RUN HOST | hide RUN HOST DIR | down RUN | gc" ;;
esac
