#!/usr/bin/env bash
# The real-node lab's host bookkeeping: which lab owns which slot, what each lab created
# on the host (its journal), and how to undo exactly that, also after the lab's driver was
# killed. Everything here runs under one flock on $PLEXUS_LAB_RUN/lock; no daemon is ever
# started under it (a daemon would inherit the lock's descriptor and keep the lock).
#
#   lab-host.sh claim <owner-pid> <lab-dir>   sweep dead labs, claim a free slot, print it
#   lab-host.sh undo <slot>                   undo one lab (its owner may still be alive)
#   lab-host.sh sweep                         undo every lab whose owner is gone
#   lab-host.sh kill-pods <slot>              SIGKILL the processes in the lab's cgroups (its pods)
#   lab-host.sh status                        print the claimed slots and their owners
#
# A journal ($PLEXUS_LAB_RUN/slot-<n>.journal) has one "<kind> <value>" line per thing
# the lab created, written BEFORE it is created, so a crash between the two only leaves
# an undo step that finds nothing:
#   dir <path>      kill every process naming <path>, unmount all below it, remove it
#   netns <name>    kill the processes in it, delete it (its veths go with it)
#   link <name>     delete a host network link
#   cgroup <path>   kill the processes below it in every v1 hierarchy (or v2), rmdir it
# The host settings the kubelet changes (vm.overcommit_memory, kernel.panic,
# kernel.panic_on_oops) and the host dirs it creates are saved when the first lab claims a
# slot and put back when the last one is undone.
set -u
run_dir="${PLEXUS_LAB_RUN:-/run/plexus-lab}"
mkdir -p "$run_dir"
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
HOST_DIRS=(/var/log/containers /var/log/pods /var/lib/cni /run/containerd)
MAX_SLOTS=16

log() { printf '[lab-host] %s\n' "$*" >&2; }

# "<pid> <start time>" of a live process, so a reused pid is not taken for the owner. A
# zombie is dead: a driver SIGKILLed by its parent stays one until the parent reaps it, and
# a parent blocked in a synchronous `claim` cannot. So is a process that was sent SIGKILL
# and has not finished exiting (it can never run again): kill(2) returns before the target
# is gone, and a next start that followed the kill at once took such a driver for a live
# lab and left its containers running.
PF_EXITING=4
SIGKILL_BIT=$((1 << 8))
identity() {
  local stat fields pending
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  read -r -a fields <<<"${stat##*) }"          # from field 3 (state) on; comm may hold spaces
  case "${fields[0]}" in Z|X|x) return 1 ;; esac
  (( ${fields[6]:-0} & PF_EXITING )) && return 1
  for pending in $(awk '/^(SigPnd|ShdPnd):/ {print $2}' "/proc/$1/status" 2>/dev/null); do
    (( 16#$pending & SIGKILL_BIT )) && return 1
  done
  [ -n "${fields[19]:-}" ] && echo "$1 ${fields[19]}"
}

owner_alive() {
  local f="$run_dir/slot-$1.owner" pid rest
  [ -f "$f" ] || return 1
  read -r pid rest <"$f" || return 1
  [ "$(identity "$pid" 2>/dev/null)" = "$pid $rest" ]
}

# Pids to kill for one journal, never ourselves or our ancestors (the reaper names the dir).
journal_pids() {
  local journal="$1" only="${2:-}" kind value p h cmdlines
  local -A keep=()
  p=$$
  while [ -n "$p" ] && [ "$p" != 0 ]; do keep[$p]=1; p="$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null)"; done
  {
    while read -r kind value; do
      [ -n "$only" ] && [ "$kind" != "$only" ] && continue
      case "$kind" in
        dir)
          [ -n "$value" ] || continue
          # One grep over every cmdline, not one per process: at a load of 40 the loop of
          # ~500 greps took 55 s a pass and `undo` outran its 120 s timeout. The list is
          # expanded here, before grep starts, so grep (whose argv names the dir) is not in it.
          cmdlines=(/proc/[0-9]*/cmdline)
          grep -lsF -- "$value/" "${cmdlines[@]}" | cut -d/ -f3 ;;
        netns) ip netns pids "$value" 2>/dev/null ;;
        cgroup)
          for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
            [ -d "$h$value" ] && find "$h$value" -name cgroup.procs -exec cat {} + 2>/dev/null
          done ;;
      esac
    done <"$journal"
  } | sort -un | while read -r p; do [ -z "${keep[$p]:-}" ] && echo "$p"; done
}

kill_all() {
  local journal="$1" only="${2:-}" i pids
  for i in $(seq 1 50); do
    pids="$(journal_pids "$journal" "$only")"
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.2
  done
  log "processes still alive after SIGKILL: $pids"
}

unmount_below() {
  local dir="$1"
  # mountinfo field 5 is the mount point, with spaces as \040; deepest first.
  awk -v d="$dir" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print length(m) " " m }' /proc/self/mountinfo \
    | sort -rn | cut -d' ' -f2- | while IFS= read -r m; do umount -l -- "$m" 2>/dev/null || log "cannot unmount $m"; done
}

remove_cgroup() {
  local rel="$1" h
  for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
    h="${h%/}"
    [ -d "$h$rel" ] || continue
    find "$h$rel" -depth -type d -exec rmdir {} \; 2>/dev/null || log "cannot remove cgroup $h$rel"
  done
}

undo_journal() {
  local journal="$1" kind value
  [ -f "$journal" ] || return 0
  kill_all "$journal"
  while read -r kind value; do
    case "$kind" in dir) [ -n "$value" ] && unmount_below "$value" ;; esac
  done <"$journal"
  # Reverse order: what was created last goes first.
  tac "$journal" | while read -r kind value; do
    [ -n "$value" ] || continue
    case "$kind" in
      netns) ip netns delete "$value" 2>/dev/null ;;
      link) ip link delete "$value" 2>/dev/null ;;
      cgroup) remove_cgroup "$value" ;;
      dir) rm -rf --one-file-system -- "$value" 2>/dev/null ;;
    esac
  done
}

# Every node's kubelet (cAdvisor) and containerd take inotify instances; a few labs at once
# pass the default limit of 128 and a kubelet dies with "inotify_init: too many open files".
# The limit is raised while labs run and put back with the other settings (recorded here
# too when a lab started by an older script saved them without it).
INOTIFY=fs.inotify.max_user_instances
INOTIFY_MIN=1024
raise_host() {
  local v
  grep -q "^$INOTIFY " "$run_dir/host.sysctl" 2>/dev/null || echo "$INOTIFY $(sysctl -n "$INOTIFY")" >>"$run_dir/host.sysctl"
  v="$(sysctl -n "$INOTIFY")"
  [ "$v" -lt "$INOTIFY_MIN" ] && sysctl -qw "$INOTIFY=$INOTIFY_MIN" >/dev/null
  return 0
}

save_host() {
  [ -f "$run_dir/host.saved" ] && return 0
  local s d
  : >"$run_dir/host.sysctl"
  for s in "${SYSCTLS[@]}"; do echo "$s $(sysctl -n "$s")" >>"$run_dir/host.sysctl"; done
  : >"$run_dir/host.dirs"
  for d in "${HOST_DIRS[@]}"; do [ -e "$d" ] || echo "$d" >>"$run_dir/host.dirs"; done
  touch "$run_dir/host.saved"
}

restore_host() {
  compgen -G "$run_dir/slot-*.owner" >/dev/null && return 0
  [ -f "$run_dir/host.saved" ] || return 0
  local s v d
  while read -r s v; do [ -n "$s" ] && sysctl -qw "$s=$v" >/dev/null; done <"$run_dir/host.sysctl"
  while read -r d; do [ -n "$d" ] && rm -rf --one-file-system -- "$d"; done <"$run_dir/host.dirs"
  rm -f "$run_dir/host.sysctl" "$run_dir/host.dirs" "$run_dir/host.saved"
}

undo_slot() {
  undo_journal "$run_dir/slot-$1.journal"
  rm -f "$run_dir/slot-$1.journal" "$run_dir/slot-$1.owner"
}

sweep() {
  local f slot
  for f in "$run_dir"/slot-*.journal "$run_dir"/slot-*.owner; do
    [ -e "$f" ] || continue
    slot="${f##*/slot-}"; slot="${slot%.*}"
    owner_alive "$slot" && continue
    log "undoing slot $slot (its owner is gone)"
    undo_slot "$slot"
  done
  restore_host
}

cmd="${1:-}"
shift || true
exec 9>"$run_dir/lock"
flock 9
case "$cmd" in
  claim)
    owner="$(identity "$1")" || { log "no process $1"; exit 1; }
    sweep
    for slot in $(seq 0 $((MAX_SLOTS - 1))); do
      [ -e "$run_dir/slot-$slot.owner" ] && continue
      ip netns list | grep -q "^plx$slot-" && continue   # something else holds these names
      save_host
      raise_host
      echo "$owner" >"$run_dir/slot-$slot.owner"
      echo "dir $2" >"$run_dir/slot-$slot.journal"
      echo "$slot"
      exit 0
    done
    log "all $MAX_SLOTS lab slots are in use"; exit 1 ;;
  undo) undo_slot "$1"; restore_host ;;
  kill-pods) [ -f "$run_dir/slot-$1.journal" ] && kill_all "$run_dir/slot-$1.journal" cgroup ;;
  sweep) sweep ;;
  status) for f in "$run_dir"/slot-*.owner; do [ -e "$f" ] && echo "${f##*/} $(cat "$f")"; done ;;
  *) log "usage: lab-host.sh claim <owner-pid> <lab-dir> | undo <slot> | kill-pods <slot> | sweep | status"; exit 2 ;;
esac
