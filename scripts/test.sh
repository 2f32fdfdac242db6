#!/usr/bin/env bash
# Runs every check of the project: gofmt, go vet, staticcheck, then all
# tests with the race detector against a real PostgreSQL and Redis.
#
# PostgreSQL: TARUVI_TEST_DATABASE_URL if set; else the server on
# 127.0.0.1:5432 if it lets user postgres in; else a private server started
# here (installing the server programs with apt-get when missing and root)
# and stopped on exit. Redis likewise: TARUVI_TEST_REDIS_URL, else
# 127.0.0.1:6379, else a private redis-server. The probe ports can be moved
# with TARUVI_TEST_PG_PROBE_PORT and TARUVI_TEST_REDIS_PROBE_PORT (an unused
# port there forces the private servers). CI=true is passed on as it is: the
# tests then fail, rather than skip, without a database.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d -t taruvi-test-XXXXXX)
chmod 755 "$work" # the postgres user must reach the private cluster
cleanups=()
cleanup() {
	local i
	for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do
		eval "${cleanups[i]}" || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tcp_open HOST PORT: whether something listens there.
tcp_open() {
	timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 40000))
		tcp_open 127.0.0.1 "$port" || { echo "$port"; return; }
	done
	die "found no free TCP port"
}

can_install() {
	[[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null
}

apt_updated=
apt_install() {
	say "installing $* with apt-get"
	if [[ -z $apt_updated ]]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

# --- PostgreSQL -------------------------------------------------------------

pg_probe_port=${TARUVI_TEST_PG_PROBE_PORT:-5432}
pg_local_url="postgres://postgres@127.0.0.1:${pg_probe_port}/postgres?sslmode=disable"

# pg_usable URL: whether the server answers and lets us in.
pg_usable() {
	if command -v psql >/dev/null; then
		PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
	elif command -v pg_isready >/dev/null; then
		pg_isready -q -h 127.0.0.1 -p "$pg_probe_port" -U postgres
	else
		tcp_open 127.0.0.1 "$pg_probe_port"
	fi
}

have_pg_server() {
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
	command -v initdb >/dev/null && command -v pg_ctl >/dev/null && return 0
	command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]
}

start_private_pg() {
	local pgctl="$work/pgctl" dir="$work/postgres"
	go build -o "$pgctl" ./internal/postgres/devserver/pgctl
	cleanups+=("'$pgctl' stop --dir '$dir' --remove")
	say "starting a private PostgreSQL in $dir"
	TARUVI_TEST_DATABASE_URL=$("$pgctl" start --dir "$dir")
}

if [[ -n ${TARUVI_TEST_DATABASE_URL:-} ]]; then
	pg_source="TARUVI_TEST_DATABASE_URL"
elif pg_usable "$pg_local_url"; then
	TARUVI_TEST_DATABASE_URL=$pg_local_url
	pg_source="the server on 127.0.0.1:$pg_probe_port"
else
	say "no PostgreSQL lets user postgres in on 127.0.0.1:$pg_probe_port"
	if ! have_pg_server; then
		can_install || die "PostgreSQL server programs not found: install them (Debian: apt-get install postgresql) or set TARUVI_TEST_DATABASE_URL"
		apt_install postgresql
	fi
	# Debian's package may have started a cluster of its own on the port.
	if pg_usable "$pg_local_url"; then
		TARUVI_TEST_DATABASE_URL=$pg_local_url
		pg_source="the server on 127.0.0.1:$pg_probe_port"
	else
		start_private_pg
		pg_source="a private server started for this run"
	fi
fi
export TARUVI_TEST_DATABASE_URL

# --- Redis ------------------------------------------------------------------

redis_probe_port=${TARUVI_TEST_REDIS_PROBE_PORT:-6379}

redis_usable() { # PORT
	if command -v redis-cli >/dev/null; then
		[[ $(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]
	else
		tcp_open 127.0.0.1 "$1"
	fi
}

start_private_redis() {
	local port pidfile="$work/redis.pid"
	port=$(free_port)
	say "starting a private Redis on 127.0.0.1:$port"
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
		--pidfile "$pidfile" --logfile "$work/redis.log" --dir "$work" >&2
	cleanups+=("[[ -s '$pidfile' ]] && kill \$(cat '$pidfile')")
	for _ in $(seq 50); do
		redis_usable "$port" && { TARUVI_TEST_REDIS_URL="redis://127.0.0.1:$port/0"; return; }
		sleep 0.1
	done
	cat "$work/redis.log" >&2 || true
	die "the private Redis did not answer on port $port"
}

if [[ -n ${TARUVI_TEST_REDIS_URL:-} ]]; then
	redis_source="TARUVI_TEST_REDIS_URL"
elif redis_usable "$redis_probe_port"; then
	TARUVI_TEST_REDIS_URL="redis://127.0.0.1:$redis_probe_port/0"
	redis_source="the server on 127.0.0.1:$redis_probe_port"
else
	say "no Redis answers on 127.0.0.1:$redis_probe_port"
	if ! command -v redis-server >/dev/null; then
		can_install || die "redis-server not found: install it (Debian: apt-get install redis-server) or set TARUVI_TEST_REDIS_URL"
		apt_install redis-server
	fi
	if redis_usable "$redis_probe_port"; then
		TARUVI_TEST_REDIS_URL="redis://127.0.0.1:$redis_probe_port/0"
		redis_source="the server on 127.0.0.1:$redis_probe_port"
	else
		start_private_redis
		redis_source="a private server started for this run"
	fi
fi
export TARUVI_TEST_REDIS_URL
# Tests that stop and restart Redis under running servers start redis-servers
# of their own (internal/redis/redistest): the program must be here too.
if ! command -v redis-server >/dev/null && can_install; then
	apt_install redis-server
fi

# mask_password URL: the URL with its password, if any, hidden.
mask_password() {
	sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:xxxxx@#' <<<"$1"
}

say "PostgreSQL: $(mask_password "$TARUVI_TEST_DATABASE_URL") ($pg_source)"
say "Redis:      $(mask_password "$TARUVI_TEST_REDIS_URL") ($redis_source)"

# The admin's browser tests drive Debian's chromium; without it they skip,
# or fail under CI=true.
if ! command -v chromium >/dev/null; then
	if can_install; then
		apt_install chromium
	else
		say "chromium not found: the browser tests will skip (install it: apt-get install chromium)"
	fi
fi

# --- Checks -------------------------------------------------------------------

bash scripts/lint.sh

say "go test -race -count=1 ./..."
go test -race -count=1 ./...
say "all checks passed"
