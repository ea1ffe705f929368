#!/usr/bin/env bash
# Start or stop a private Docker engine for the tests, everything under one temp dir.
#   eval "$(.ci/dockerd.sh start)"   # prints `export DOCKER_HOST=...; export ENVKIT_DOCKERD_DIR=...`
#   .ci/dockerd.sh stop              # stops it by its pid and removes the dir
# A private data root and socket leave the machine's own Docker (if any) untouched; stopping by
# pid (never by name) ends only the engine this script started.
set -euo pipefail

start() {
  local dir
  dir=$(mktemp -d /tmp/envkit-dockerd.XXXXXX)
  dockerd --data-root "$dir/data" --exec-root "$dir/exec" --host "unix://$dir/docker.sock" \
    --pidfile "$dir/dockerd.pid" >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
  for _ in $(seq 1 60); do
    if /usr/bin/docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1; then
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
