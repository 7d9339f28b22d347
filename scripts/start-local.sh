#!/usr/bin/env bash
# npm run start:local [-- --demo] — the whole platform on this machine, without compose: brings up missing
# local Postgres/Redis/Docker (same bootstrap as the tests), prepares databases and roles, builds, starts a mail
# catcher (MailDev), the four services, the worker and the portal (scripts/portal-server.ts) with their own database users, waits until all are ready,
# makes the first admin, prints what to do next, then supervises: a child that exits unexpectedly is restarted
# with backoff (1 s doubling to 30 s) while the others keep running. Everything stops on SIGINT/SIGTERM, or
# when a child fails its first start. --demo adds a demo customer, tenant and running instance (idempotent).
# Settings: .env (created on the first start from .env.example, with fresh random secrets); variables in the
# environment win. START_LOCAL_ENV_FILE / START_LOCAL_DIR move .env and .local/ (tests use their own).
# START_LOCAL_SKIP_BUILD=1 reuses dist/; LOCAL_PORT_OFFSET moves every port (default ports 8001-8005, inbox
# 1080, portal PORTAL_PORT 3000); HOST is the address the services listen on (default 127.0.0.1: nothing is reachable from outside).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

demo=0
for arg in "$@"; do
  case $arg in
    --demo) demo=1 ;;
    *) echo "start:local: unknown option $arg (known: --demo)" >&2; exit 2 ;;
  esac
done

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
declare -A ready_url=()
for app in "${apps[@]}"; do ready_url[$app]=http://127.0.0.1:${port[$app]}/health/ready; done

# Every service runs here, so they reach each other on these ports (whatever .env says for compose).
export USER_SERVICE_URL=http://127.0.0.1:${port[user-service]}
export TENANT_SERVICE_URL=http://127.0.0.1:${port[tenant-service]}
export INSTANCE_SERVICE_URL=http://127.0.0.1:${port[instance-service]}
export BILLING_SERVICE_URL=http://127.0.0.1:${port[billing-service]}
# Backup download links point at the worker, which holds the files and streams them; imports go to it too.
export BACKUP_DOWNLOAD_URL=http://127.0.0.1:${port[instance-worker]}
export INSTANCE_WORKER_URL=http://127.0.0.1:${port[instance-worker]}
export KILLBILL_CALLBACK_URL=$BILLING_SERVICE_URL/api/billing/webhooks/killbill
# --- the portal: apps/portal/dist served with the four API prefixes proxied (scripts/portal-server.ts) -------
export PORTAL_PORT=$((${PORTAL_PORT:-3000} + offset))
portal_url=http://127.0.0.1:$PORTAL_PORT
ready_url[portal]=$portal_url/healthz
# Links in emails open the portal once it is built; until then user-service's API docs (the token is in the link).
if [[ -z ${PORTAL_URL:-} || $PORTAL_URL == http://localhost:3000 ]]; then
  if [[ -f ${PORTAL_DIST:-apps/portal/dist}/index.html ]]; then
    export PORTAL_URL=$portal_url
  else
    export PORTAL_URL="$USER_SERVICE_URL/docs#"
  fi
fi

# --- mail: a catcher with a web inbox, unless SMTP_HOST is a real relay -----------------------------------
children=()
inbox_url=
case ${SMTP_HOST:-127.0.0.1} in
  127.0.0.1 | localhost | ::1)
    export SMTP_PORT=$((${SMTP_PORT:-1025} + offset))
    inbox_port=$((${MAIL_INBOX_PORT:-1080} + offset))
    if (: <"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null; then
      echo "start:local: 127.0.0.1:$SMTP_PORT already takes mail; the platform's mail goes there (no catcher started)"
    else
      children+=(mail-catcher)
      inbox_url=http://127.0.0.1:$inbox_port
      ready_url[mail-catcher]=$inbox_url/api/healthz
    fi
    ;;
  *) echo "start:local: mail goes to the relay ${SMTP_HOST}:${SMTP_PORT:-25} (no catcher started)" ;;
esac
children+=("${apps[@]}" portal)

# --- the Odoo image: the configured one when it is here or can be pulled, else the stand-in ---------------
odoo_version=17.0
template=${ODOO_IMAGE_TEMPLATE:-odoo:{version\}}
image_note=
if [[ $template != saasodoo/odoo-stub:* ]]; then
  image=${template//\{version\}/$odoo_version}
  if ! docker image inspect "$image" >/dev/null 2>&1 && ! timeout 600 docker pull -q "$image" >/dev/null 2>&1; then
    if [[ ${ODOO_IMAGE_FALLBACK:-stub} == stub ]]; then
      echo "start:local: Odoo image $image is not on this machine and cannot be pulled; instances run the stand-in saasodoo/odoo-stub:{version} (ODOO_IMAGE_FALLBACK=stub)"
      template='saasodoo/odoo-stub:{version}'
      image_note=" (stand-in: $image cannot be had here)"
    else
      echo "start:local: Odoo image $image is not on this machine and cannot be pulled; instances will fail until it is loaded (ODOO_IMAGE_FALLBACK=stub would use the stand-in saasodoo/odoo-stub:{version})" >&2
      image_note=" (missing: instances will fail)"
    fi
  fi
fi
export ODOO_IMAGE_TEMPLATE=$template
if [[ $template == saasodoo/odoo-stub:* ]]; then bash infrastructure/odoo-stub/build.sh; fi

# Only db:setup needs the admin password; no service gets it.
unset POSTGRES_PASSWORD PGPASSWORD

mkdir -p "$local_dir/logs"
log_of() { echo "$local_dir/logs/$1.log"; }
declare -A pid=() restarts=() delay=() restart_at=() started_at=()
stopping=0
sleeper=
stop_all() {
  stopping=1
  [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null || true
  echo "start:local: stopping"
  for child in "${children[@]}"; do [[ -n ${pid[$child]:-} ]] && kill -TERM "${pid[$child]}" 2>/dev/null || true; done
  for child in "${children[@]}"; do [[ -n ${pid[$child]:-} ]] && wait "${pid[$child]}" 2>/dev/null || true; done
  echo "start:local: all stopped"
}
trap 'stop_all; exit 0' INT TERM

# Runs `node dist/apps/<app>/main.js [args]` with the app's own database identity. Call it in a subshell (`&` or
# `$(…)`): exec makes node that subshell's process, so the pid start:local knows is node's own.
as_app() {
  local app=$1 pw_var=${password_var[$1]}
  shift
  PORT=${port[$app]} POSTGRES_DB=${database[$app]} DB_SERVICE_USER=${role[$app]} DB_SERVICE_PASSWORD=${!pw_var} \
    exec node "dist/apps/$app/main.js" "$@"
}

launch() {
  local child=$1
  if [[ $child == mail-catcher ]]; then
    node node_modules/maildev/dist/bin/maildev.js --smtp "$SMTP_PORT" --ip 127.0.0.1 \
      --web "$inbox_port" --web-ip 127.0.0.1 --mail-directory "$local_dir/mail" >>"$(log_of "$child")" 2>&1 &
  elif [[ $child == portal ]]; then
    (exec node -r ts-node/register/transpile-only -r tsconfig-paths/register scripts/portal-server.ts) \
      >>"$(log_of "$child")" 2>&1 &
  else
    as_app "$child" >>"$(log_of "$child")" 2>&1 &
  fi
  pid[$child]=$!
  started_at[$child]=$SECONDS
}

for child in "${children[@]}"; do
  : >"$(log_of "$child")"
  launch "$child"
  restarts[$child]=0
  delay[$child]=1
  echo "start:local: $child started (pid ${pid[$child]}, log $(log_of "$child"))"
done

deadline=$((SECONDS + ${START_LOCAL_READY_TIMEOUT:-90}))
for child in "${children[@]}"; do
  until curl -fsS "${ready_url[$child]}" >/dev/null 2>&1; do
    if ! kill -0 "${pid[$child]}" 2>/dev/null; then
      echo "start:local: $child failed its first start; last log lines:" >&2
      tail -n 20 "$(log_of "$child")" >&2
      stop_all
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "start:local: $child not ready in time: $(curl -s "${ready_url[$child]}")" >&2
      stop_all
      exit 1
    fi
    sleep 1
  done
done

# --- the first admin: made once, its password printed only then --------------------------------------------
admin_email=${ADMIN_EMAIL:-admin@saasodoo.localhost}
if ! admin_out=$(as_app user-service ensure-admin "$admin_email" 2>&1); then
  echo "start:local: could not make the admin: $admin_out" >&2
  stop_all
  exit 1
fi
admin_password=$(sed -n 's/^password: //p' <<<"$admin_out")

demo_out=
if ((demo)); then
  if ! demo_out=$(USER_URL=$USER_SERVICE_URL TENANT_URL=$TENANT_SERVICE_URL INSTANCE_URL=$INSTANCE_SERVICE_URL \
    INBOX_URL=$inbox_url DEMO_STATE_FILE="$local_dir/demo.json" \
    node -r ts-node/register/transpile-only -r tsconfig-paths/register scripts/demo-data.ts 2>&1); then
    echo "start:local: demo data failed: $demo_out" >&2
    stop_all
    exit 1
  fi
fi

echo
echo "start:local: the platform is up"
for app in "${apps[@]}"; do
  printf '  %-17s http://127.0.0.1:%s  (docs /docs, health /health/ready, metrics /metrics)\n' "$app" "${port[$app]}"
done
cat <<EOF

What next
  Portal       $portal_url$([[ -f ${PORTAL_DIST:-apps/portal/dist}/index.html ]] || echo '  (not built yet: npm run build)')
  Mail inbox   ${inbox_url:-none started (mail goes to ${SMTP_HOST:-127.0.0.1}:${SMTP_PORT:-1025})}
               every email the platform sends (verification and reset links) lands here
EOF
if [[ -n $admin_password ]]; then
  echo "  Admin        $admin_email  password: $admin_password"
  echo "               shown only now: store it (only its hash is kept)"
else
  echo "  Admin        $admin_email  (made on the first start; forgot the password? POST /auth/password-reset"
  echo "               {\"email\":\"$admin_email\"} on user-service, then follow the link in the inbox)"
fi
cat <<EOF
  API docs     $USER_SERVICE_URL/reference/docs  (all four services' public API in one document)
               per service: $USER_SERVICE_URL/docs  $TENANT_SERVICE_URL/docs  $INSTANCE_SERVICE_URL/docs  $BILLING_SERVICE_URL/docs
  Odoo image   $ODOO_IMAGE_TEMPLATE$image_note
  A tenant     log in (register at $USER_SERVICE_URL/auth/register, or as the admin), then:
    TOKEN=\$(curl -s -H 'content-type: application/json' -d '{"email":"$admin_email","password":"<password>"}' \\
      $USER_SERVICE_URL/auth/login | node -pe 'JSON.parse(require("fs").readFileSync(0)).tokens.access_token')
    curl -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
      -d '{"name":"My company","subdomain":"my-company"}' $TENANT_SERVICE_URL/api/v1/tenants
EOF
[[ -n $demo_out ]] && printf '%s\n' "$demo_out" | sed 's/^/  /'
echo "  Stop         Ctrl-C (stops every process started here)"
echo

# Supervision: a child that exits is restarted after its backoff; the others are left alone. A child that
# stayed up for a minute starts its backoff again from 1 s.
while true; do
  sleep 1 &
  sleeper=$!
  wait $sleeper || true
  ((stopping)) && exit 0
  for child in "${children[@]}"; do
    if [[ -n ${pid[$child]} ]] && ! kill -0 "${pid[$child]}" 2>/dev/null; then
      code=0
      wait "${pid[$child]}" 2>/dev/null || code=$?
      ((SECONDS - started_at[$child] >= 60)) && delay[$child]=1
      restarts[$child]=$((restarts[$child] + 1))
      restart_at[$child]=$((SECONDS + delay[$child]))
      echo "start:local: $child exited unexpectedly (code $code); restart ${restarts[$child]} in ${delay[$child]} s" >&2
      tail -n 5 "$(log_of "$child")" | sed 's/^/    /' >&2
      delay[$child]=$((delay[$child] * 2 > 30 ? 30 : delay[$child] * 2))
      pid[$child]=
    elif [[ -z ${pid[$child]} ]] && ((SECONDS >= restart_at[$child])); then
      launch "$child"
      echo "start:local: $child restarted (pid ${pid[$child]})"
    fi
  done
done
