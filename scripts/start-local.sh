#!/usr/bin/env bash
# npm run start:local — the whole platform on this machine, without compose: brings up missing local
# Postgres/Redis/Docker (same bootstrap as the tests), prepares databases and roles, builds, starts the four
# services and the worker with their own database users, waits for every /health/ready, prints the URLs,
# then supervises: a child that exits unexpectedly is restarted with backoff (1 s doubling to 30 s) while the
# others keep running. Everything stops on SIGINT/SIGTERM, or when a child fails its first start.
# Settings: .env (created on the first start from .env.example, with fresh random secrets); variables in the
# environment win. START_LOCAL_ENV_FILE / START_LOCAL_DIR move .env and .local/ (tests use their own).
# START_LOCAL_SKIP_BUILD=1 reuses dist/; LOCAL_PORT_OFFSET moves every port (default ports 8001-8005);
# HOST is the address the services listen on (default 127.0.0.1: nothing is reachable from the network).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

env_file=${START_LOCAL_ENV_FILE:-.env}
local_dir=${START_LOCAL_DIR:-.local}
source scripts/env-file.sh
if [[ ! -f $env_file ]]; then
  write_env_with_random_secrets .env.example "$env_file"
  echo "start:local: created $env_file from .env.example with fresh random secrets"
fi
load_env_file "$env_file"
export HOST=${HOST:-127.0.0.1}

bash scripts/bootstrap-deps.sh
bash infrastructure/postgres/setup-host.sh
[[ -d node_modules ]] || npm install --no-audit --no-fund
[[ ${START_LOCAL_SKIP_BUILD:-0} == 1 ]] || npm run --silent build
if [[ ${ODOO_IMAGE_TEMPLATE:-} == saasodoo/odoo-stub:* ]]; then bash infrastructure/odoo-stub/build.sh; fi

offset=${LOCAL_PORT_OFFSET:-0}
suffix=${DB_NAME_SUFFIX:-}
declare -A port=([user-service]=$((8001 + offset)) [tenant-service]=$((8002 + offset))
  [instance-service]=$((8003 + offset)) [billing-service]=$((8004 + offset)) [instance-worker]=$((8005 + offset)))
declare -A database=([user-service]=auth$suffix [tenant-service]=tenant$suffix [instance-service]=instance$suffix
  [billing-service]=billing$suffix [instance-worker]=instance$suffix)
declare -A role=([user-service]=user_service [tenant-service]=tenant_service [instance-service]=instance_service
  [billing-service]=billing_service [instance-worker]=instance_service)
declare -A password_var=([user-service]=USER_SERVICE_DB_PASSWORD [tenant-service]=TENANT_SERVICE_DB_PASSWORD
  [instance-service]=INSTANCE_SERVICE_DB_PASSWORD [billing-service]=BILLING_SERVICE_DB_PASSWORD
  [instance-worker]=INSTANCE_SERVICE_DB_PASSWORD)
apps=(user-service tenant-service instance-service billing-service instance-worker)

# Every service runs here, so they reach each other on these ports (whatever .env says for compose).
export USER_SERVICE_URL=http://127.0.0.1:${port[user-service]}
export TENANT_SERVICE_URL=http://127.0.0.1:${port[tenant-service]}
export INSTANCE_SERVICE_URL=http://127.0.0.1:${port[instance-service]}
export BILLING_SERVICE_URL=http://127.0.0.1:${port[billing-service]}
export KILLBILL_CALLBACK_URL=$BILLING_SERVICE_URL/api/billing/webhooks/killbill
# Only db:setup needs the admin password; no service gets it.
unset POSTGRES_PASSWORD PGPASSWORD

mkdir -p "$local_dir/logs"
log_of() { echo "$local_dir/logs/$1.log"; }
declare -A pid=() restarts=() delay=() restart_at=() started_at=()
stopping=0
stop_all() {
  stopping=1
  echo "start:local: stopping"
  for app in "${apps[@]}"; do [[ -n ${pid[$app]:-} ]] && kill -TERM "${pid[$app]}" 2>/dev/null || true; done
  for app in "${apps[@]}"; do [[ -n ${pid[$app]:-} ]] && wait "${pid[$app]}" 2>/dev/null || true; done
  echo "start:local: all stopped"
}
trap 'stop_all; exit 0' INT TERM

launch() {
  local app=$1 pw_var=${password_var[$1]}
  PORT=${port[$app]} POSTGRES_DB=${database[$app]} DB_SERVICE_USER=${role[$app]} DB_SERVICE_PASSWORD=${!pw_var} \
    node "dist/apps/$app/main.js" >>"$(log_of "$app")" 2>&1 &
  pid[$app]=$!
  started_at[$app]=$SECONDS
}

for app in "${apps[@]}"; do
  : >"$(log_of "$app")"
  launch "$app"
  restarts[$app]=0
  delay[$app]=1
  echo "start:local: $app started (pid ${pid[$app]}, log $(log_of "$app"))"
done

deadline=$((SECONDS + ${START_LOCAL_READY_TIMEOUT:-90}))
for app in "${apps[@]}"; do
  until curl -fsS "http://127.0.0.1:${port[$app]}/health/ready" >/dev/null 2>&1; do
    if ! kill -0 "${pid[$app]}" 2>/dev/null; then
      echo "start:local: $app failed its first start; last log lines:" >&2
      tail -n 20 "$(log_of "$app")" >&2
      stop_all
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "start:local: $app not ready in time: $(curl -s "http://127.0.0.1:${port[$app]}/health/ready")" >&2
      stop_all
      exit 1
    fi
    sleep 1
  done
done

echo
echo "start:local: the platform is up"
for app in "${apps[@]}"; do
  printf '  %-17s http://127.0.0.1:%s  (docs /docs, health /health/ready, metrics /metrics)\n' "$app" "${port[$app]}"
done
echo "Press Ctrl-C to stop."

# Supervision: a child that exits is restarted after its backoff; the others are left alone. A child that
# stayed up for a minute starts its backoff again from 1 s.
while true; do
  sleep 1 &
  wait $! || true
  ((stopping)) && exit 0
  for app in "${apps[@]}"; do
    if [[ -n ${pid[$app]} ]] && ! kill -0 "${pid[$app]}" 2>/dev/null; then
      code=0
      wait "${pid[$app]}" 2>/dev/null || code=$?
      ((SECONDS - started_at[$app] >= 60)) && delay[$app]=1
      restarts[$app]=$((restarts[$app] + 1))
      restart_at[$app]=$((SECONDS + delay[$app]))
      echo "start:local: $app exited unexpectedly (code $code); restart ${restarts[$app]} in ${delay[$app]} s" >&2
      tail -n 5 "$(log_of "$app")" | sed 's/^/    /' >&2
      delay[$app]=$((delay[$app] * 2 > 30 ? 30 : delay[$app] * 2))
      pid[$app]=
    elif [[ -z ${pid[$app]} ]] && ((SECONDS >= restart_at[$app])); then
      launch "$app"
      echo "start:local: $app restarted (pid ${pid[$app]})"
    fi
  done
done
