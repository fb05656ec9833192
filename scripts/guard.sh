#!/bin/sh
# Runs COMMAND in a process group of its own and kills the whole group — COMMAND and everything
# it started — when this script's standard input reaches end of file. The caller keeps the write
# end of a pipe on our stdin and writes nothing: the kernel closes it when the caller exits in any
# way (normally, on a panic, on Ctrl-C, on SIGTERM, even on SIGKILL), so nothing a test or a
# benchmark started can outlive it. The caller may also close the pipe itself to end COMMAND now.
#
# Why a group and not the process: chromedriver starts Chromium, which starts its zygotes,
# renderers, GPU and utility processes; killing chromedriver (or the test) leaves them all running,
# reparented to init. They stay in chromedriver's process group (checked with Chromium 156; its
# crash handlers leave the group but exit with the browser), so one kill of the group ends them.
# The group is not the terminal's foreground group, so a Ctrl-C meant for the caller does not
# reach COMMAND before the caller is gone: this script is what ends it.
#
# Usage: guard.sh COMMAND [ARG...]   (stdin: a pipe from the caller; stdout/stderr: COMMAND's)
set -u
if [ "$#" -eq 0 ]; then
  echo "usage: guard.sh COMMAND [ARG...]" >&2
  exit 2
fi
# A group of our own: setsid(1) execs in place (same pid) when we are not a group leader already.
if [ "$(ps -o pgid= -p $$ | tr -d ' ')" != "$$" ]; then
  exec setsid "$0" "$@"
fi
"$@" </dev/null &
# Lines written by the caller, if any, are ignored; read fails at end of file.
while read -r _; do :; done
kill -s KILL 0
