#!/usr/bin/env bash
# npm run start:local — the whole platform on this machine, without compose: brings up missing local
# Postgres/Redis/Docker (same bootstrap as the tests), prepares databases and roles, builds, starts the four
# services and the worker with their own database users, waits for every /health/ready, prints the URLs,
# and stops every child on SIGINT/SIGTERM.
# Settings: .env (created from .env.example when missing); variables in the environment win.
# START_LOCAL_SKIP_BUILD=1 reuses dist/; LOCAL_PORT_OFFSET moves every port (default ports 8001-8005).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -f .env ]] || { cp .env.example .env; echo "start:local: created .env from .env.example"; }
source scripts/env-file.sh
load_env_file .env

bash scripts/bootstrap-deps.sh
bash infrastructure/postgres/setup-host.sh
[[ -d node_modules ]] || npm install --no-audit --no-fund
[[ ${START_LOCAL_SKIP_BUILD:-0} == 1 ]] || npm run --silent build
if [[ ${ODOO_IMAGE_TEMPLATE:-} == saasodoo/odoo-stub:* ]]; then bash infrastructure/odoo-stub/build.sh; fi

offset=${LOCAL_PORT_OFFSET:-0}
declare -A port=([user-service]=$((8001 + offset)) [tenant-service]=$((8002 + offset))
  [instance-service]=$((8003 + offset)) [billing-service]=$((8004 + offset)) [instance-worker]=$((8005 + offset)))
declare -A database=([user-service]=auth [tenant-service]=tenant [instance-service]=instance
  [billing-service]=billing [instance-worker]=instance)
declare -A role=([user-service]=user_service [tenant-service]=tenant_service [instance-service]=instance_service
  [billing-service]=billing_service [instance-worker]=instance_service)
declare -A password_var=([user-service]=USER_SERVICE_DB_PASSWORD [tenant-service]=TENANT_SERVICE_DB_PASSWORD
  [instance-service]=INSTANCE_SERVICE_DB_PASSWORD [billing-service]=BILLING_SERVICE_DB_PASSWORD
  [instance-worker]=INSTANCE_SERVICE_DB_PASSWORD)
apps=(user-service tenant-service instance-service billing-service instance-worker)

export USER_SERVICE_URL=${USER_SERVICE_URL:-http://127.0.0.1:${port[user-service]}}
export TENANT_SERVICE_URL=${TENANT_SERVICE_URL:-http://127.0.0.1:${port[tenant-service]}}
export INSTANCE_SERVICE_URL=${INSTANCE_SERVICE_URL:-http://127.0.0.1:${port[instance-service]}}
export BILLING_SERVICE_URL=${BILLING_SERVICE_URL:-http://127.0.0.1:${port[billing-service]}}
# Only db:setup needs the admin password; no service gets it.
unset POSTGRES_PASSWORD PGPASSWORD

mkdir -p .local/logs
declare -A pid=()
stopping=0
stop_all() {
  stopping=1
  echo "start:local: stopping"
  for app in "${apps[@]}"; do [[ -n ${pid[$app]:-} ]] && kill -TERM "${pid[$app]}" 2>/dev/null || true; done
  for app in "${apps[@]}"; do [[ -n ${pid[$app]:-} ]] && wait "${pid[$app]}" 2>/dev/null || true; done
  echo "start:local: all stopped"
}
trap 'stop_all; exit 0' INT TERM

for app in "${apps[@]}"; do
  pw_var=${password_var[$app]}
  PORT=${port[$app]} POSTGRES_DB=${database[$app]} DB_SERVICE_USER=${role[$app]} DB_SERVICE_PASSWORD=${!pw_var} \
    node "dist/apps/$app/main.js" >".local/logs/$app.log" 2>&1 &
  pid[$app]=$!
  echo "start:local: $app started (pid ${pid[$app]}, log .local/logs/$app.log)"
done

deadline=$((SECONDS + ${START_LOCAL_READY_TIMEOUT:-90}))
for app in "${apps[@]}"; do
  until curl -fsS "http://127.0.0.1:${port[$app]}/health/ready" >/dev/null 2>&1; do
    if ! kill -0 "${pid[$app]}" 2>/dev/null; then
      echo "start:local: $app exited; last log lines:" >&2
      tail -n 20 ".local/logs/$app.log" >&2
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

# Any child that dies takes the platform down with it (and says so).
while true; do
  wait -n "${pid[@]}" || true
  ((stopping)) && exit 0
  for app in "${apps[@]}"; do
    if ! kill -0 "${pid[$app]}" 2>/dev/null; then
      echo "start:local: $app exited unexpectedly; last log lines:" >&2
      tail -n 20 ".local/logs/$app.log" >&2
      stop_all
      exit 1
    fi
  done
done
