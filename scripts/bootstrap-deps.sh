#!/usr/bin/env bash
# Makes sure Postgres, Redis and a Docker engine are reachable, installing and starting local ones when
# they are missing (Debian, as root). Shared by `npm test` and `npm run start:local`. Safe to run twice.
# On other machines, point POSTGRES_HOST/POSTGRES_PORT, REDIS_URL and DOCKER_HOST at what you have.
set -euo pipefail

log() { echo "bootstrap: $*"; }
is_root() { [[ $(id -u) -eq 0 ]]; }
apt_updated=0
apt_install() {
  is_root || { log "cannot install $* (not root); install it or point the env at an existing one" >&2; return 1; }
  if [[ $apt_updated -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() { # description, attempts, command...
  local what=$1 attempts=$2
  shift 2
  for ((i = 0; i < attempts; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "$what did not come up" >&2
  return 1
}

pg_host=${POSTGRES_HOST:-127.0.0.1}
pg_port=${POSTGRES_PORT:-5432}
is_local() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]; }

# --- Postgres ---
command -v pg_isready >/dev/null || apt_install postgresql
if ! pg_isready -q -h "$pg_host" -p "$pg_port"; then
  if is_local "$pg_host"; then
    if ! command -v pg_lsclusters >/dev/null || [[ -z $(pg_lsclusters -h 2>/dev/null) ]]; then
      apt_install postgresql
    fi
    cluster=$(pg_lsclusters -h | awk -v p="$pg_port" '$3 == p {print $1" "$2; exit}')
    [[ -n $cluster ]] || cluster=$(pg_lsclusters -h | awk '{print $1" "$2; exit}')
    log "starting Postgres cluster $cluster"
    # shellcheck disable=SC2086
    pg_ctlcluster $cluster start || true
  fi
  wait_for "Postgres at $pg_host:$pg_port" 30 pg_isready -q -h "$pg_host" -p "$pg_port"
fi
log "Postgres is up at $pg_host:$pg_port"

# --- Redis ---
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
redis_hostport=${redis_url#*://}
redis_hostport=${redis_hostport##*@}
redis_hostport=${redis_hostport%%/*}
redis_host=${redis_hostport%%:*}
redis_port=${redis_hostport##*:}
[[ $redis_port == "$redis_hostport" ]] && redis_port=6379
command -v redis-cli >/dev/null || apt_install redis-server
if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  if is_local "$redis_host"; then
    command -v redis-server >/dev/null || apt_install redis-server
    log "starting redis-server on $redis_port"
    redis-server --daemonize yes --port "$redis_port" --bind 127.0.0.1 --appendonly yes \
      --dir "${TMPDIR:-/tmp}" --appendfilename "saasodoo-redis-$redis_port.aof" >/dev/null
  fi
  wait_for "Redis at $redis_url" 30 redis-cli -u "$redis_url" ping
fi
log "Redis is up at $redis_url"

# --- Docker ---
if [[ ${SKIP_DOCKER:-0} != 1 ]]; then
  command -v docker >/dev/null && command -v dockerd >/dev/null || [[ -n ${DOCKER_HOST:-} ]] || apt_install docker.io
  if ! docker info >/dev/null 2>&1; then
    if [[ -z ${DOCKER_HOST:-} || ${DOCKER_HOST} == unix:///var/run/docker.sock ]]; then
      command -v dockerd >/dev/null || apt_install docker.io
      log "starting dockerd"
      nohup dockerd >/var/log/saasodoo-dockerd.log 2>&1 &
    fi
    wait_for "Docker engine" 60 docker info
  fi
  log "Docker engine is up ($(docker info --format '{{.ServerVersion}}'))"
fi

# --- test tools: promtool and amtool (alert rule tests), only for npm test ---
if [[ ${BOOTSTRAP_TEST_TOOLS:-0} == 1 ]] && ! { command -v promtool >/dev/null && command -v amtool >/dev/null; }; then
  # The packages' own daemons are not wanted: policy-rc.d keeps the install from starting them.
  own_policy=0
  if is_root && [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt_install --no-install-recommends prometheus prometheus-alertmanager || status=$?
  [[ $own_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
  [[ ${status:-0} == 0 ]] || exit "$status"
fi

# --- test tools: iproute2, nsenter/unshare and iptables for the three-node swarm lab (test/swarm-lab) ---
if [[ ${BOOTSTRAP_TEST_TOOLS:-0} == 1 ]]; then
  lab_packages=()
  command -v ip >/dev/null || lab_packages+=(iproute2)
  { command -v nsenter >/dev/null && command -v unshare >/dev/null; } || lab_packages+=(util-linux)
  command -v iptables >/dev/null || lab_packages+=(iptables)
  if [[ ${#lab_packages[@]} -gt 0 ]]; then apt_install --no-install-recommends "${lab_packages[@]}"; fi
fi

# --- test tools: Chromium for the portal's browser tests (test/portal, playwright-core drives it; nothing is
# downloaded at run time), only for npm test ---
if [[ ${BOOTSTRAP_TEST_TOOLS:-0} == 1 ]] && ! command -v chromium >/dev/null; then
  apt_install --no-install-recommends chromium fonts-liberation
fi

# --- test tools: an S3-compatible server for the off-host backup copies (BACKUP_S3_*), only for npm test ---
# s3rver (npm, devDependency @20minutes/s3rver) on a fixed loopback port, objects as files under $TMPDIR; a
# running one is reused (safe to run twice, and a second run finds the first's server). Why s3rver: README
# "Data safety".
if [[ ${BOOTSTRAP_TEST_TOOLS:-0} == 1 && ${SKIP_S3:-0} != 1 ]]; then
  s3_port=${TEST_S3_PORT:-4568}
  s3_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$s3_port/" && curl -s -m 2 "http://127.0.0.1:$s3_port/" | grep -q -E 'ListAllMyBucketsResult|<Error>'; }
  if ! s3_up; then
    command -v curl >/dev/null || apt_install curl
    [[ -d node_modules/@20minutes/s3rver ]] || npm install --no-audit --no-fund
    s3_dir="${TMPDIR:-/tmp}/saasodoo-s3rver-$s3_port"
    mkdir -p "$s3_dir"
    log "starting s3rver on 127.0.0.1:$s3_port (data in $s3_dir)"
    nohup node scripts/s3-test-server.cjs "$s3_port" "$s3_dir" saasodoo-test-backups \
      >"${TMPDIR:-/tmp}/saasodoo-s3rver-$s3_port.log" 2>&1 &
    wait_for "S3 server (s3rver) at 127.0.0.1:$s3_port" 30 s3_up
  fi
  log "S3 server is up at http://127.0.0.1:$s3_port"
fi
