#!/usr/bin/env bash
# Builds saasodoo/odoo-stub:{16.0,17.0,18.0,latest} without a registry: a busybox-static root filesystem made
# here and imported with `docker import`. The stub honours the parts of the official `odoo` image contract that
# the platform relies on (entrypoint argument handling, HOST/PORT/USER/PASSWORD, /var/lib/odoo owned by uid 101,
# HTTP on 8069, `odoo ... --stop-after-init` one-shots), so the worker can be tested against real containers.
#
# Behaviour switches (container environment):
#   STUB_STARTUP_DELAY_SECONDS=N  listen on 8069 only after N seconds (Odoo boot time)
#   STUB_FAIL=1                   listen, but /web/health answers 503 and every page 500 (never healthy)
#   STUB_FAIL_UPDATE=1            `odoo ... --stop-after-init` exits 1 (failed module update)
#   STUB_WAIT_FOR_DB=1            like wait-for-psql.py: exit 1 unless HOST:PORT accepts TCP within 30 s
#
# Idempotent: the sha256 of this file and of the busybox binary is stored in the image label
# `saasodoo.stub.content-hash`; images whose label matches are left alone.
set -euo pipefail

IMAGE_REPO="${STUB_IMAGE_REPO:-saasodoo/odoo-stub}"
VERSIONS=(16.0 17.0 18.0)
LATEST_VERSION=18.0
HASH_LABEL=saasodoo.stub.content-hash
ODOO_UID=101
ODOO_GID=101
SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

die() {
  echo "odoo-stub build: $*" >&2
  exit 1
}

command -v docker >/dev/null || die "the docker CLI is required"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock})"

is_static() {
  [ -x "$1" ] || return 1
  # glibc's ldd says "not a dynamic executable" for static binaries; static-pie ones say "statically linked".
  local out
  out="$(ldd "$1" 2>&1 || true)"
  grep -q -E 'not a dynamic executable|statically linked' <<<"$out"
}

find_busybox() {
  local candidate
  for candidate in "${BUSYBOX:-}" /bin/busybox /usr/bin/busybox; do
    if [ -n "$candidate" ] && is_static "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

BUSYBOX_BIN="$(find_busybox || true)"
if [ -z "$BUSYBOX_BIN" ]; then
  [ "$(id -u)" = 0 ] || die "no static busybox found; install the Debian package busybox-static"
  echo "odoo-stub build: installing busybox-static" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  BUSYBOX_BIN="$(find_busybox)" || die "busybox-static installed but no static busybox found"
fi

CONTENT_HASH="$(cat "$SCRIPT_PATH" "$BUSYBOX_BIN" | sha256sum | cut -d' ' -f1)"

# Several test runs may build at once; serialise them so an image is imported once.
LOCK_FILE="${TMPDIR:-/tmp}/saasodoo-odoo-stub-build.lock"
exec 9>"$LOCK_FILE"
if command -v flock >/dev/null; then flock 9; fi

image_hash() {
  docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null || true
}

up_to_date=1
for v in "${VERSIONS[@]}" latest; do
  if [ "$(image_hash "$IMAGE_REPO:$v")" != "$CONTENT_HASH" ]; then
    up_to_date=0
  fi
done
if [ "$up_to_date" = 1 ]; then
  echo "odoo-stub build: $IMAGE_REPO is up to date (content hash ${CONTENT_HASH:0:12})"
  exit 0
fi

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/odoo-stub.XXXXXX")"
trap 'rm -rf "$WORK_DIR"' EXIT
ROOTFS="$WORK_DIR/rootfs"

mkdir -p "$ROOTFS"/{bin,etc/odoo,usr/bin,usr/lib/odoo-stub,var/lib/odoo,mnt/extra-addons,tmp,root,proc,sys,dev}
chmod 1777 "$ROOTFS/tmp"
chmod 0700 "$ROOTFS/root"
cp "$BUSYBOX_BIN" "$ROOTFS/bin/busybox"
chmod 0755 "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX_BIN" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ROOTFS/bin/$applet"
done

cat >"$ROOTFS/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
odoo:x:$ODOO_UID:$ODOO_GID:Odoo stub:/var/lib/odoo:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ROOTFS/etc/group" <<EOF
root:x:0:
odoo:x:$ODOO_GID:
nogroup:x:65534:
EOF
cat >"$ROOTFS/etc/odoo/odoo.conf" <<'EOF'
[options]
addons_path = /mnt/extra-addons
data_dir = /var/lib/odoo
EOF

# /entrypoint.sh: same argument contract as the official image's entrypoint.
cat >"$ROOTFS/entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

if [ -n "${PASSWORD_FILE:-}" ]; then
    PASSWORD="$(cat "$PASSWORD_FILE")"
fi

: "${HOST:=${DB_PORT_5432_TCP_ADDR:=db}}"
: "${PORT:=${DB_PORT_5432_TCP_PORT:=5432}}"
: "${USER:=${DB_ENV_POSTGRES_USER:=${POSTGRES_USER:=odoo}}}"
: "${PASSWORD:=${DB_ENV_POSTGRES_PASSWORD:=${POSTGRES_PASSWORD:=odoo}}}"

case "${1:-}" in
    -- | odoo)
        shift
        if [ "${1:-}" = scaffold ]; then
            exec odoo "$@"
        fi
        exec odoo "$@" --db_host "$HOST" --db_port "$PORT" --db_user "$USER" --db_password "$PASSWORD"
        ;;
    -*)
        exec odoo "$@" --db_host "$HOST" --db_port "$PORT" --db_user "$USER" --db_password "$PASSWORD"
        ;;
    *)
        exec "$@"
        ;;
esac
EOF

# /usr/bin/odoo: the server (HTTP on --http-port, default 8069) or a one-shot with --stop-after-init.
cat >"$ROOTFS/usr/bin/odoo" <<'EOF'
#!/bin/sh
db=""
update=""
init=""
stop_after_init=0
http_port=8069
data_dir=/var/lib/odoo
db_host=""
db_port=""
db_user=""
db_password=""

while [ $# -gt 0 ]; do
    arg=$1
    shift
    case "$arg" in
        --*=*)
            name=${arg%%=*}
            value=${arg#*=}
            ;;
        -d | --database | -u | --update | -i | --init | --db_host | --db_port | -r | --db_user | -w | \
        --db_password | -p | --http-port | -D | --data-dir | -c | --config | --addons-path | --db-filter | \
        --log-level | --logfile | --workers | -l | --load-language | --without-demo)
            name=$arg
            value=${1:-}
            [ $# -gt 0 ] && shift
            ;;
        *)
            name=$arg
            value=""
            ;;
    esac
    case "$name" in
        -d | --database) db=$value ;;
        -u | --update) update=$value ;;
        -i | --init) init=$value ;;
        --db_host) db_host=$value ;;
        --db_port) db_port=$value ;;
        -r | --db_user) db_user=$value ;;
        -w | --db_password) db_password=$value ;;
        -p | --http-port) http_port=$value ;;
        -D | --data-dir) data_dir=$value ;;
        --stop-after-init) stop_after_init=1 ;;
        --version)
            echo "Odoo Server ${ODOO_VERSION:-17.0} (saasodoo stub)"
            exit 0
            ;;
        scaffold)
            echo "odoo-stub: scaffold is not supported" >&2
            exit 2
            ;;
    esac
done

log() {
    level=$1
    logger=$2
    shift 2
    printf '%s %s %s %s %s: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S,000')" "$$" "$level" "${db:-?}" "$logger" "$*" >&2
}

log INFO odoo "Odoo version ${ODOO_VERSION:-17.0} (saasodoo/odoo-stub)"
log INFO odoo "addons paths: ['/mnt/extra-addons']"
log INFO odoo "database: ${db_user:-default}@${db_host:-default}:${db_port:-default} (password $([ -n "$db_password" ] && echo set || echo unset))"

if [ "${STUB_WAIT_FOR_DB:-0}" = 1 ]; then
    waited=0
    until nc -w 2 "${db_host:-localhost}" "${db_port:-5432}" </dev/null >/dev/null 2>&1; do
        waited=$((waited + 1))
        if [ "$waited" -ge 30 ]; then
            log ERROR odoo.sql_db "Unable to connect to the database ${db_host}:${db_port}"
            exit 1
        fi
        sleep 1
    done
fi

if [ "$stop_after_init" = 1 ]; then
    if [ -z "$db" ]; then
        log ERROR odoo "--stop-after-init needs a database (-d/--database)"
        exit 1
    fi
    if [ -n "$update" ]; then log INFO odoo.modules.loading "updating modules: $update"; fi
    if [ -n "$init" ]; then log INFO odoo.modules.loading "installing modules: $init"; fi
    if [ "${STUB_FAIL_UPDATE:-0}" = 1 ]; then
        log ERROR odoo.modules.registry "Failed to load registry (STUB_FAIL_UPDATE=1)"
        exit 1
    fi
    mkdir -p "$data_dir/filestore/$db" "$data_dir/stub-markers"
    printf '%s update=%s init=%s version=%s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$update" "$init" \
        "${ODOO_VERSION:-17.0}" >>"$data_dir/stub-markers/update-$db"
    log INFO odoo.modules.loading "Modules loaded."
    log INFO odoo.service.server "Initiating shutdown (--stop-after-init)"
    exit 0
fi

mkdir -p "$data_dir/sessions"
if [ -n "$db" ]; then mkdir -p "$data_dir/filestore/$db"; fi

server_pid=""
shutdown() {
    log INFO odoo.service.server "Initiating shutdown"
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    exit 0
}
trap shutdown TERM INT

echo "odoo-stub: booting (startup delay ${STUB_STARTUP_DELAY_SECONDS:-0}s)"
delay=${STUB_STARTUP_DELAY_SECONDS:-0}
if [ "$delay" -gt 0 ] 2>/dev/null; then
    sleep "$delay" &
    server_pid=$!
    wait "$server_pid" || true
fi

export STUB_DB="$db"
nc -ll -p "$http_port" -e /usr/lib/odoo-stub/http-request &
server_pid=$!
log INFO odoo.service.server "HTTP service (werkzeug) running on 0.0.0.0:$http_port"
if [ "${STUB_FAIL:-0}" = 1 ]; then
    log ERROR odoo.sql_db "Connection to the database failed (STUB_FAIL=1): the instance will never be healthy"
fi
echo "odoo-stub: ready"
status=0
wait "$server_pid" || status=$?
log ERROR odoo.service.server "HTTP server stopped unexpectedly (status $status)"
exit 1
EOF

# One HTTP request per connection: stdin/stdout are the socket (busybox nc -ll -e).
cat >"$ROOTFS/usr/lib/odoo-stub/http-request" <<'EOF'
#!/bin/sh
cr=$(printf '\r')
IFS=' ' read -r -t 10 method target protocol || exit 0
protocol=${protocol%"$cr"}
length=0
while IFS= read -r -t 10 header; do
    header=${header%"$cr"}
    [ -z "$header" ] && break
    case "$header" in
        [Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][Nn][Gg][Tt][Hh]:*)
            length=${header#*:}
            length=${length# }
            ;;
    esac
done
if [ "$length" -gt 0 ] 2>/dev/null; then head -c "$length" >/dev/null; fi
path=${target%%\?*}
db=${STUB_DB:-}
version=${ODOO_VERSION:-17.0}

respond() {
    status=$1
    content_type=$2
    body=$3
    extra_header=${4:-}
    size=$(printf '%s' "$body" | wc -c)
    printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n' \
        "$status" "$content_type" "$size"
    if [ -n "$extra_header" ]; then printf '%s\r\n' "$extra_header"; fi
    printf '\r\n'
    if [ "$method" != HEAD ]; then printf '%s' "$body"; fi
    printf '%s %s INFO %s werkzeug: - - "%s %s %s" %s -\n' "$(date -u '+%Y-%m-%d %H:%M:%S,000')" "$$" \
        "${db:-?}" "$method" "$target" "$protocol" "${status%% *}" >&2
    exit 0
}

html() {
    printf '<!DOCTYPE html><html><head><meta charset="utf-8"/><title>%s | Odoo</title></head><body>%s</body></html>' \
        "$1" "$2"
}

if [ "${STUB_FAIL:-0}" = 1 ]; then
    case "$path" in
        /web/health) respond '503 SERVICE UNAVAILABLE' 'application/json; charset=utf-8' '{"status": "fail"}' ;;
        *) respond '500 INTERNAL SERVER ERROR' 'text/html; charset=utf-8' "$(html 'Error' '<h1>Internal Server Error</h1>')" ;;
    esac
fi

case "$path" in
    /web/health)
        respond '200 OK' 'application/json; charset=utf-8' '{"status": "pass"}'
        ;;
    / | /web | /odoo)
        respond '303 SEE OTHER' 'text/html; charset=utf-8' "$(html 'Redirecting' '<a href="/web/login">/web/login</a>')" \
            'Location: /web/login'
        ;;
    /web/login)
        respond '200 OK' 'text/html; charset=utf-8' "$(html 'Login' "<form class=\"oe_login_form\" role=\"form\" method=\"post\" action=\"/web/login\"><input type=\"hidden\" name=\"csrf_token\" value=\"stub\"/><input type=\"hidden\" name=\"db\" value=\"$db\"/><label for=\"login\">Email</label><input type=\"text\" name=\"login\" id=\"login\" required=\"required\"/><label for=\"password\">Password</label><input type=\"password\" name=\"password\" id=\"password\" required=\"required\"/><button type=\"submit\">Log in</button></form>")"
        ;;
    /web/database/selector | /web/database/manager)
        respond '200 OK' 'text/html; charset=utf-8' "$(html 'Databases' "<div class=\"list-group\"><a class=\"list-group-item\" href=\"/odoo?db=$db\">$db</a></div>")"
        ;;
    /web/database/list)
        respond '200 OK' 'application/json; charset=utf-8' "{\"jsonrpc\": \"2.0\", \"id\": null, \"result\": [\"$db\"]}"
        ;;
    /web/webclient/version_info)
        respond '200 OK' 'application/json; charset=utf-8' "{\"jsonrpc\": \"2.0\", \"id\": null, \"result\": {\"server_version\": \"$version\", \"server_serie\": \"$version\", \"protocol_version\": 1}}"
        ;;
    *)
        respond '404 NOT FOUND' 'text/html; charset=utf-8' "$(html 'Not Found' '<h1>Not Found</h1>')"
        ;;
esac
EOF

# Debian's busybox-static 1.35 wget segfaults when given -T; a crash would pass for "unreachable" in
# network tests, so /usr/bin/wget (ahead of /bin in PATH) implements -T with timeout(1) instead.
cat >"$ROOTFS/usr/bin/wget" <<'EOF'
#!/bin/sh
seconds=""
count=$#
i=0
while [ "$i" -lt "$count" ]; do
    arg=$1
    shift
    i=$((i + 1))
    case "$arg" in
        -T)
            seconds=$1
            shift
            i=$((i + 1))
            ;;
        -T*) seconds=${arg#-T} ;;
        --timeout=*) seconds=${arg#*=} ;;
        *) set -- "$@" "$arg" ;;
    esac
done
if [ -n "$seconds" ]; then
    exec timeout "$seconds" busybox wget "$@"
fi
exec busybox wget "$@"
EOF

chmod 0755 "$ROOTFS/entrypoint.sh" "$ROOTFS/usr/bin/odoo" "$ROOTFS/usr/lib/odoo-stub/http-request" \
  "$ROOTFS/usr/bin/wget"

# Everything belongs to root except the directories the runtime user writes to (uid 101, as in the official
# image); two passes so that this works without root and without chown.
ARCHIVE="$WORK_DIR/rootfs.tar"
tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 --sort=name \
  --exclude=./var/lib/odoo --exclude=./mnt/extra-addons -cf "$ARCHIVE" .
tar -C "$ROOTFS" --numeric-owner --owner="$ODOO_UID" --group="$ODOO_GID" -rf "$ARCHIVE" \
  ./var/lib/odoo ./mnt/extra-addons

for v in "${VERSIONS[@]}"; do
  docker import \
    --change 'ENTRYPOINT ["/entrypoint.sh"]' \
    --change 'CMD ["odoo"]' \
    --change 'EXPOSE 8069' \
    --change "USER $ODOO_UID:$ODOO_GID" \
    --change 'VOLUME ["/var/lib/odoo", "/mnt/extra-addons"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV ODOO_RC=/etc/odoo/odoo.conf' \
    --change "ENV ODOO_VERSION=$v" \
    --change "LABEL $HASH_LABEL=$CONTENT_HASH" \
    --change 'LABEL org.opencontainers.image.title=saasodoo-odoo-stub' \
    --change "LABEL org.opencontainers.image.version=$v" \
    --message "saasodoo odoo stub $v" \
    - "$IMAGE_REPO:$v" <"$ARCHIVE" >/dev/null
done
docker tag "$IMAGE_REPO:$LATEST_VERSION" "$IMAGE_REPO:latest"

echo "odoo-stub build: built $IMAGE_REPO:{$(IFS=,; echo "${VERSIONS[*]}"),latest} (content hash ${CONTENT_HASH:0:12})"
