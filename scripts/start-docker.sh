#!/usr/bin/env bash
# Make sure a Docker Engine answers on this machine, starting dockerd if needed.
#
# There is no init system on the test machines, so the daemon is started
# detached with setsid and logs to $DOCKERD_LOG. Safe to run any number of
# times, also concurrently: a lock serialises starters and an engine that
# already answers is left alone.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
DOCKER_WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}
LOCK_FILE=${THECLOUD_DOCKER_LOCK:-/run/lock/thecloud-start-docker.lock}

log() { printf 'start-docker: %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

if ! command -v docker >/dev/null 2>&1; then
    log "the docker client is not installed; run scripts/install-deps.sh as root"
    exit 1
fi

if engine_answers; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    log "the Docker Engine does not answer and only root can start it here"
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    log "dockerd is not installed; run scripts/install-deps.sh"
    exit 1
fi

mkdir -p "$(dirname "$LOCK_FILE")"
exec 9>"$LOCK_FILE"
flock 9

# Another starter may have won the race while we waited for the lock, or a
# daemon may be up but still initialising: only start one when none runs.
if ! engine_answers && ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd (log: $DOCKERD_LOG)"
    # fd 9 is closed so that the daemon does not keep holding the lock.
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
fi

deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
until engine_answers; do
    if ((SECONDS >= deadline)); then
        log "the Docker Engine did not answer within ${DOCKER_WAIT_SECONDS}s; last lines of $DOCKERD_LOG:"
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        exit 1
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        log "dockerd exited; last lines of $DOCKERD_LOG:"
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        exit 1
    fi
    sleep 0.5
done
log "the Docker Engine answers"
