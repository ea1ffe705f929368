#!/usr/bin/env bash
# Start or stop a private Docker engine for the tests, everything under one temp dir.
#   eval "$(.ci/dockerd.sh start)"   # prints `export DOCKER_HOST=...; export ENVKIT_DOCKERD_DIR=...`
#   .ci/dockerd.sh stop              # stops it by its pid and removes the dir
# A private data root and socket leave the machine's own Docker (if any) untouched; stopping by
# pid (never by name) ends only the engine this script started.
set -euo pipefail

# One engine and one client, both from Debian's docker.io, by path: a newer `docker` earlier on
# PATH (a standalone CLI) may speak another API version than this engine. The tests talk to the
# engine through the Docker SDK and DOCKER_HOST; this client only probes that it is up.
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=${DOCKER:-/usr/bin/docker}

start() {
  local dir
  dir=$(mktemp -d /tmp/envkit-dockerd.XXXXXX)
  "$DOCKERD" --data-root "$dir/data" --exec-root "$dir/exec" --host "unix://$dir/docker.sock" \
    --pidfile "$dir/dockerd.pid" >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
  for _ in $(seq 1 60); do
    if "$DOCKER" -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then
      echo "dockerd.sh: engine $("$DOCKERD" --version), client $DOCKER ($("$DOCKER" --version))" >&2
      echo "export DOCKER_HOST=unix://$dir/docker.sock ENVKIT_DOCKERD_DIR=$dir"
      return 0
    fi
    sleep 0.5
  done
  echo "dockerd did not start; its log:" >&2
  cat "$dir/dockerd.log" >&2
  ENVKIT_DOCKERD_DIR=$dir stop
  return 1
}

stop() {
  local dir=${ENVKIT_DOCKERD_DIR:?ENVKIT_DOCKERD_DIR is not set}
  local pid
  pid=$(cat "$dir/dockerd.pid" 2>/dev/null || cat "$dir/launcher.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    # dockerd stops its containers and containerd first; give it the time it needs.
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Overlay mounts of a killed engine would keep the data root busy.
  grep -o "$dir[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
