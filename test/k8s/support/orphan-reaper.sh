#!/usr/bin/env bash
# orphan-reaper.sh OWNER_PID RUN_DIR
#
# Started detached (its own session) by the control-plane harness. While the test process OWNER_PID
# lives, it waits. When the harness has torn down and removed RUN_DIR, it exits. If OWNER_PID dies
# with RUN_DIR still there (jest SIGKILLed, a crash, a timeout), it SIGKILLs every process listed in
# RUN_DIR/pids, newest first, and removes RUN_DIR. A process is killed only if its command line
# still names RUN_DIR, so a recycled pid is never hit.
set -u
owner=$1 dir=$2

while [[ -d $dir ]] && kill -0 "$owner" 2>/dev/null; do sleep 1; done
[[ -d $dir ]] || exit 0

if [[ -f $dir/pids ]]; then
  tac "$dir/pids" | while read -r name pid; do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir"; then
      kill -KILL "$pid" 2>/dev/null && echo "orphan-reaper: killed $name ($pid) left by test process $owner" >&2
    fi
  done
fi
rm -rf "$dir"
