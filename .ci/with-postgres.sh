#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster, for the firm-database tests and for trying firm mode.
#
#   bash .ci/with-postgres.sh npx vitest run test/main/firm
#   bash .ci/with-postgres.sh dbus-run-session -- bash .ci/with-keyring.sh npm test    # what .ci/run does
#   bash .ci/with-postgres.sh bash                                                     # a shell with one to try
#
# Firm mode keeps the firm's picture in one PostgreSQL database (DESIGN.md §7), so its tests need a real server.
# This script makes one from Debian's packages (`apt-get install postgresql`; it never uses, starts or changes
# the machine's own cluster): a fresh `initdb` in a `mktemp -d` folder, listening on a Unix socket inside that
# folder and on a free port on 127.0.0.1 only. It exports, for the command:
#
#   RELINK_TEST_PG_ADMIN_URL    postgres://relink_admin:PASSWORD@127.0.0.1:PORT/postgres — the cluster's superuser
#   RELINK_TEST_PG_HOST, RELINK_TEST_PG_PORT, RELINK_TEST_PG_ADMIN_USER, RELINK_TEST_PG_ADMIN_PASSWORD
#   RELINK_TEST_PG_SOCKET_DIR   the socket's folder (only the cluster's OS user may enter it)
#
# The password is random per run and protects nothing real: the cluster lives only as long as the command.
# It never sets PGHOST/PGPASSWORD and friends, which would quietly change what every other pg client connects to.
# The cluster is stopped and its folder deleted when the command ends, however it ends; the command's exit status
# is passed through.
#
# PostgreSQL refuses to run as root. Run as root (as CI does), the cluster belongs to the `postgres` user the
# Debian package creates (RELINK_PG_OS_USER to choose another unprivileged user); run as anyone else, to you.
set -euo pipefail

die() {
  echo "with-postgres: $*" >&2
  exit 1
}

if [[ $# -eq 0 ]]; then
  die "usage: bash .ci/with-postgres.sh COMMAND [ARGS...]"
fi

# CI may run us with no standard input at all; give tools an empty one rather than a closed fd 0.
if { exec 3<&0; } 2>/dev/null; then exec 3<&-; else exec </dev/null; fi

# --- 1. Find the server binaries -----------------------------------------------------------------------------
# Debian keeps them out of PATH, under /usr/lib/postgresql/MAJOR/bin. RELINK_PG_BIN overrides; otherwise the
# newest installed major (15 on Debian 12).
pg_bin="${RELINK_PG_BIN:-}"
if [[ -z "$pg_bin" ]]; then
  pg_bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)"
fi
for tool in initdb pg_ctl pg_isready; do
  [[ -x "$pg_bin/$tool" ]] ||
    die "PostgreSQL's server programs are missing (looked for $tool in '${pg_bin:-/usr/lib/postgresql/*/bin}'). Install them with: apt-get install postgresql"
done
command -v node >/dev/null || die "'node' is needed to find a free port"

# --- 2. Who runs the server ----------------------------------------------------------------------------------
as_owner=()
if [[ "$(id -u)" -eq 0 ]]; then
  os_user="${RELINK_PG_OS_USER:-postgres}"
  id "$os_user" >/dev/null 2>&1 ||
    die "running as root, and there is no '$os_user' user to run PostgreSQL as (the postgresql package creates it)"
  # runuser (util-linux, on every Debian) rather than su: it passes the arguments through untouched.
  command -v runuser >/dev/null || die "running as root needs 'runuser' (apt-get install util-linux) to start PostgreSQL as '$os_user'"
  as_owner=(runuser -u "$os_user" --)
fi

# --- 3. A fresh cluster in a temporary folder ----------------------------------------------------------------
# A run that was killed outright (SIGKILL: no trap runs) leaves its cluster running. Each run notes its pid in
# its folder; a folder whose run is gone is stopped and removed here, so stale servers never pile up.
for stale in "${TMPDIR:-/tmp}"/relink-pg.*/owner.pid; do
  [[ -f "$stale" ]] || continue
  stale_pid="$(cat "$stale" 2>/dev/null || true)"
  # `ps -p`, not `kill -0`: the latter also fails for a live run of another user.
  [[ -n "$stale_pid" ]] && ps -p "$stale_pid" >/dev/null 2>&1 && continue
  stale_root="$(dirname "$stale")"
  # Only our own (or, as root, any): another user's leftovers are theirs to clean.
  [[ -O "$stale_root" || "$(id -u)" -eq 0 ]] || continue
  echo "with-postgres: removing a cluster left by an earlier run that was killed ($stale_root)" >&2
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$stale_root/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  rm -rf "$stale_root"
done

# Short folder name: a Unix socket's path must stay under ~107 bytes.
pg_root="$(mktemp -d "${TMPDIR:-/tmp}/relink-pg.XXXXXXXX")"
echo "$$" >"$pg_root/owner.pid"
pg_data="$pg_root/data"
pg_log="$pg_root/server.log"
started=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$started" ]]; then
    # Immediate: the data is thrown away next, so a clean checkpoint would only cost time.
    "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pg_root"
}
trap cleanup EXIT
# An interrupted run still stops the server: exiting runs the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 700 "$pg_root"
if [[ ${#as_owner[@]} -gt 0 ]]; then
  chown "$os_user" "$pg_root"
fi

admin_user="relink_admin"
admin_password="throwaway-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
pwfile="$pg_root/admin.pw"
printf '%s\n' "$admin_password" >"$pwfile"
[[ ${#as_owner[@]} -eq 0 ]] || chown "$os_user" "$pwfile"
chmod 600 "$pwfile"

# The superuser is relink_admin, with a password for TCP (scram-sha-256, as a firm's server would ask for);
# the socket trusts whoever can reach it, which is only the cluster's owner (its folder is 0700).
"${as_owner[@]}" "$pg_bin/initdb" -D "$pg_data" -U "$admin_user" --pwfile="$pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$pg_root/initdb.log" 2>&1 ||
  { cat "$pg_root/initdb.log" >&2; die "initdb failed"; }
rm -f "$pwfile"

free_port() {
  node -e "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# --- 4. Start it ---------------------------------------------------------------------------------------------
# fsync and synchronous_commit off: a throwaway cluster need not survive a power cut, and tests run faster.
# (A test that restarts the server mid-work uses pg_ctl stop -m fast, which still writes everything.) A port
# found free can be taken before the server binds it, so a failed start is retried on another port.
port=""
for attempt in 1 2 3; do
  port="$(free_port)"
  if "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_root -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null; then
    started=1
    break
  fi
  echo "with-postgres: the server did not start on port $port (attempt $attempt of 3)" >&2
  tail -n 5 "$pg_log" >&2 || true
done
[[ -n "$started" ]] || die "could not start PostgreSQL; its log was: $(tail -n 20 "$pg_log" 2>/dev/null)"

"$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10 || die "PostgreSQL started but does not answer on 127.0.0.1:$port"

export RELINK_TEST_PG_HOST=127.0.0.1
export RELINK_TEST_PG_PORT="$port"
export RELINK_TEST_PG_ADMIN_USER="$admin_user"
export RELINK_TEST_PG_ADMIN_PASSWORD="$admin_password"
export RELINK_TEST_PG_SOCKET_DIR="$pg_root"
export RELINK_TEST_PG_ADMIN_URL="postgres://$admin_user:$admin_password@127.0.0.1:$port/postgres"

version="$("$pg_bin/postgres" --version 2>/dev/null | sed 's/^postgres (PostgreSQL) //')"
echo "with-postgres: PostgreSQL $version ready on 127.0.0.1:$port as $admin_user (cluster in $pg_root, removed afterwards)" >&2

# --- 5. Run the command --------------------------------------------------------------------------------------
# As a child, not `exec`, so the EXIT trap can stop the server and delete the folder; its status becomes ours.
set +e
"$@"
status=$?
set -e
exit "$status"
