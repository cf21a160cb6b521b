#!/usr/bin/env bash
# Keeps a control-plane component from outliving the harness process that started it.
# The harness holds the write end of our stdin pipe. When the harness dies, however it
# dies (even SIGKILL), the kernel closes that pipe and `read` sees end-of-file; we then
# stop the component: SIGTERM, and SIGKILL once the grace period has passed.
#
#   watchdog.sh run  <grace-seconds> <pid-file> <command> [args...]
#       Runs <command>, writes its pid to <pid-file>, forwards SIGTERM/SIGINT to it and
#       exits with its status.
#   watchdog.sh reap <grace-seconds> <dir> [lab]
#       Removes <dir> (the harness's temp dir) once the harness is gone and the components
#       had time to stop. The harness SIGKILLs this mode when it cleans up by itself.
#       With `lab` (a set with real nodes) it first runs lab-host.sh sweep, which kills the
#       containers and shims, unmounts, and removes the namespaces, veths and cgroups of
#       every lab whose driver is gone, and restores the host settings.
set -u
mode=$1 grace=$2
shift 2
exec 3<&0 0</dev/null

await_harness_exit() { while read -r -u 3 _; do :; done; }

case "$mode" in
  reap)
    await_harness_exit
    sleep $((grace + 1))
    if [ "${2:-}" = lab ]; then
      bash "$(dirname "${BASH_SOURCE[0]}")/lab-host.sh" sweep
      rm -rf --one-file-system -- "$1"
    else
      rm -rf -- "$1"
    fi
    exit 0
    ;;
  run)
    pid_file=$1
    shift
    "$@" 3<&- &
    child=$!
    printf '%s\n' "$child" >"$pid_file"
    trap 'kill -TERM "$child" 2>/dev/null' TERM INT
    (
      await_harness_exit
      kill -TERM "$child" 2>/dev/null || exit 0
      sleep "$grace"
      kill -KILL "$child" 2>/dev/null
    ) &
    guard=$!
    exec 3<&-
    # A trapped signal interrupts `wait`; keep waiting until the child is really gone.
    while :; do
      wait "$child"
      status=$?
      kill -0 "$child" 2>/dev/null || break
    done
    kill -KILL "$guard" 2>/dev/null
    exit "$status"
    ;;
  *)
    echo "watchdog.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
