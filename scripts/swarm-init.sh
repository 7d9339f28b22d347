#!/usr/bin/env bash
# Makes the test engine a single-node swarm (manager) unless it is a swarm member already, so the swarm
# placement suite runs (apps/instance-worker/src/placement/swarm). Idempotent; containers that are not
# services are not affected by swarm mode. SKIP_SWARM=1 leaves the engine alone.
# SWARM_ADVERTISE_ADDR picks the address when the host has several (default: the engine's choice, else
# 127.0.0.1, which is enough for one node).
set -euo pipefail

log() { echo "swarm-init: $*"; }
[[ ${SKIP_SWARM:-0} == 1 ]] && { log "SKIP_SWARM=1: not touching the engine"; exit 0; }

state=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unreachable)
case $state in
  active)
    if [[ $(docker info --format '{{.Swarm.ControlAvailable}}') == true ]]; then
      log "the engine is a swarm manager already"
    else
      log "the engine is a swarm worker: the swarm suite needs a manager (set DOCKER_HOST to one)" >&2
    fi
    exit 0
    ;;
  inactive) ;;
  *)
    log "engine swarm state is '$state'; leaving it as it is" >&2
    exit 0
    ;;
esac

if [[ -n ${SWARM_ADVERTISE_ADDR:-} ]]; then
  docker swarm init --advertise-addr "$SWARM_ADVERTISE_ADDR" >/dev/null
elif ! docker swarm init >/dev/null 2>&1; then
  # "could not choose an IP address to advertise": several interfaces and no default.
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
log "initialised a single-node swarm (node $(docker info --format '{{.Swarm.NodeID}}'))"
