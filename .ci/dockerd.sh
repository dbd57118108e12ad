#!/usr/bin/env bash
# Starts (or finds) the Docker daemon the container tests use, and prints its DOCKER_HOST.
#   usage: .ci/dockerd.sh [start|stop]      (as root; Debian's docker.io)
# Its data root lives in the CI cache, so image layers survive between runs (a rebuild with an
# unchanged Dockerfile and package-lock.json takes seconds). No default docker0 bridge and its own
# address pool: compose makes its own network, and another daemon on the machine keeps docker0.
set -euo pipefail
cache="${EDGELOOP_CI_CACHE:-/var/cache/edgeloop-ci}"
run=/run/edgeloop-ci-docker
sock="$run/docker.sock"
host="unix://$sock"
pidfile="$run/dockerd.pid"
docker="${EDGELOOP_DOCKER:-/usr/bin/docker}"
answering() { DOCKER_HOST="$host" "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    if answering; then echo "$host"; exit 0; fi
    command -v dockerd >/dev/null || { echo "dockerd not installed (apt-get install docker.io)" >&2; exit 3; }
    mkdir -p "$cache/docker" "$run/exec"
    # Debian's docker.io needs cgroup and iptables support; both exist on the CI machines.
    setsid dockerd --data-root "$cache/docker" --exec-root "$run/exec" -H "$host" --pidfile "$pidfile" \
      --bridge=none --default-address-pool base=10.213.0.0/16,size=24 \
      >"$cache/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 100); do
      if answering; then echo "$host"; exit 0; fi
      sleep 0.2
    done
    echo "dockerd did not answer within 20 s; see $cache/dockerd.log" >&2
    tail -20 "$cache/dockerd.log" >&2
    exit 1
    ;;
  stop)
    if [ -s "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
      echo "dockerd ($pid) did not stop within 10 s" >&2
      exit 1
    fi
    ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
