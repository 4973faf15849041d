#!/usr/bin/env bash
# Run a command with a throwaway, unlocked GNOME Keyring serving the Secret Service API on D-Bus.
#
# Relink keeps refresh tokens and client secrets in the OS keychain only (DESIGN.md), so its tests need a real
# Secret Service. CI machines have no desktop session, so this script makes one just big enough:
#
#   dbus-run-session -- bash .ci/with-keyring.sh npm test     # what .ci/run does
#   bash .ci/with-keyring.sh npm test                          # also fine: it starts its own private bus
#
# Every run gets fresh XDG folders from `mktemp -d`, so the keyring starts empty, never sees a developer's real
# secrets, and a second run never trips over the first one's (differently-passworded) login keyring.
# The folders and the daemon are removed when the command ends; the command's exit status is passed through.
set -euo pipefail

die() {
  echo "with-keyring: $*" >&2
  exit 1
}

if [[ $# -eq 0 ]]; then
  die "usage: [dbus-run-session --] bash .ci/with-keyring.sh COMMAND [ARGS...]"
fi

# CI may run us with no standard input at all. Some tools misbehave when fd 0 is closed (the next file they
# open becomes their "stdin"), so give them an empty one instead. (Copying fd 0 fails only if it is closed.)
if { exec 3<&0; } 2>/dev/null; then exec 3<&-; else exec </dev/null; fi

for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null ||
    die "'$tool' is missing. Install it with: apt-get install dbus dbus-bin gnome-keyring libsecret-tools"
done

# --- 1. Make sure we are on a private D-Bus session bus ------------------------------------------------------
# On a developer's desktop the session bus is shared with their real keyring (or KWallet) and every running
# app; claiming org.freedesktop.secrets there would either fail or capture other apps' secrets. A bus started
# by dbus-run-session owns no well-known names besides the bus itself, so that is how we recognise one. If
# there is no bus, or it is a shared one, we re-run ourselves under a fresh dbus-run-session.
bus_names() {
  dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.ListNames 2>/dev/null | tr ' ' '\n' | grep -v -e '^$' -e '^:' -e '^array' \
    -e '^\[' -e '^\]' -e '^org\.freedesktop\.DBus$' || true
}
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]] || [[ -n "$(bus_names)" ]]; then
  # Guard against looping if the new bus somehow still looks shared.
  [[ -z "${RELINK_KEYRING_REEXEC:-}" ]] || die "could not get a private D-Bus session bus (names on it: $(bus_names | tr '\n' ' '))"
  echo "with-keyring: no private D-Bus session bus; starting one with dbus-run-session" >&2
  exec env RELINK_KEYRING_REEXEC=1 dbus-run-session -- bash "$0" "$@"
fi

# --- 2. Fresh XDG folders ------------------------------------------------------------------------------------
# gnome-keyring keeps keyrings in $XDG_DATA_HOME/keyrings and its control socket in $XDG_RUNTIME_DIR/keyring.
# XDG_RUNTIME_DIR must be private (0700), which mktemp -d gives us.
keyring_root="$(mktemp -d "${TMPDIR:-/tmp}/relink-keyring.XXXXXXXX")"
daemon_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$daemon_pid" ]]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$keyring_root"
}
trap cleanup EXIT

export XDG_DATA_HOME="$keyring_root/data"
export XDG_CONFIG_HOME="$keyring_root/config"
export XDG_RUNTIME_DIR="$keyring_root/run"
mkdir -m 700 "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"

# If anything asks D-Bus to *activate* org.freedesktop.secrets (e.g. after the daemon died), the bus starts
# gnome-keyring-daemon with the bus's own environment; point that at our folders too, not at ~/.local/share.
dbus-update-activation-environment XDG_DATA_HOME XDG_CONFIG_HOME XDG_RUNTIME_DIR

# --- 3. Start the daemon, unlocked ---------------------------------------------------------------------------
# --unlock reads the login keyring's password from stdin (creating the keyring, unlocked, since it is new).
# The password protects nothing real: the keyring lives only as long as this run. --foreground keeps the daemon
# our own child, so we know its pid and can stop it; started that way, it also cannot race us to the bus name.
keyring_password="relink-ci-throwaway"
daemon_out="$keyring_root/daemon.env"
gnome-keyring-daemon --foreground --unlock --components=secrets \
  < <(printf '%s' "$keyring_password") >"$daemon_out" &
daemon_pid=$!

# Wait (up to ~10 s) until the daemon owns org.freedesktop.secrets. Calling secret-tool before that would make
# D-Bus activate a second daemon, which would find our keyring locked.
secrets_owned() {
  dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true
}
for _ in $(seq 100); do
  secrets_owned && break
  kill -0 "$daemon_pid" 2>/dev/null || die "gnome-keyring-daemon exited before it served org.freedesktop.secrets"
  sleep 0.1
done
secrets_owned || die "gnome-keyring-daemon did not claim org.freedesktop.secrets within 10 s"

# Export whatever the daemon prints (NAME=value lines, e.g. GNOME_KEYRING_CONTROL on some versions; version 42
# with only the secrets component prints nothing, which is fine).
while IFS= read -r line; do
  if [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
    export "${line?}"
  fi
done <"$daemon_out"

# --- 4. Canary: prove the Secret Service really stores, finds and deletes a secret ---------------------------
# Fail here, with a clear message, rather than deep inside a test with a cryptic libsecret error. `timeout`
# because a locked keyring makes libsecret wait for a password prompt that can never appear on a headless box.
canary_value="canary-$$-$RANDOM"
canary_attrs=(service relink-canary run "$$")
printf '%s' "$canary_value" | timeout 10 secret-tool store --label="Relink CI canary" "${canary_attrs[@]}" ||
  die "Secret Service canary: 'secret-tool store' failed (is the login keyring unlocked?)"
found="$(timeout 10 secret-tool lookup "${canary_attrs[@]}")" ||
  die "Secret Service canary: 'secret-tool lookup' found nothing right after storing"
[[ "$found" == "$canary_value" ]] ||
  die "Secret Service canary: stored '$canary_value' but read back '$found'"
timeout 10 secret-tool clear "${canary_attrs[@]}" ||
  die "Secret Service canary: 'secret-tool clear' failed"
if timeout 10 secret-tool lookup "${canary_attrs[@]}" >/dev/null 2>&1; then
  die "Secret Service canary: the secret was still there after 'secret-tool clear'"
fi
# gnome-keyring 42.1 aborts when a client goes away in the middle of opening a Secret Service session (a test
# process killed, or ended, at that instant). D-Bus then starts a fresh daemon for the next caller, and a fresh
# daemon opens the login keyring LOCKED: every keychain test after it would fail for a reason not its own. The
# watchdog notices a daemon it did not start and replaces it with one unlocked with the throwaway password
# (`--replace --unlock`), and says so in the log. Tests that lock or kill a keyring on purpose use private ones
# (test/support/keyring-control.ts), which this does not watch.
secrets_owner_pid() {
  dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null | awk '{print $2}'
}
keyring_watchdog() {
  local ours="$daemon_pid" owner
  # A daemon it put in place ends with it (cleanup ends the first one).
  trap '[[ "$ours" == "$daemon_pid" ]] || kill "$ours" 2>/dev/null; exit 0' TERM
  while sleep 0.5; do
    owner="$(secrets_owner_pid)"
    [[ -z "$owner" || "$owner" == "$ours" ]] && continue
    echo "with-keyring: gnome-keyring-daemon was restarted by D-Bus (now pid $owner, locked); replacing it with an unlocked one" >&2
    printf '%s' "$keyring_password" | gnome-keyring-daemon --replace --foreground --unlock --components=secrets >/dev/null 2>&1 &
    ours=$!
    for _ in $(seq 50); do
      [[ "$(secrets_owner_pid)" == "$ours" ]] && break
      sleep 0.1
    done
  done
}
keyring_watchdog &
watchdog_pid=$!

echo "with-keyring: Secret Service ready (gnome-keyring $(gnome-keyring-daemon --version | sed -n 's/^gnome-keyring-daemon: //p'), XDG folders under $keyring_root)" >&2

# --- 5. Run the command ----------------------------------------------------------------------------------------
# Run it as a child rather than `exec` it, so the EXIT trap can stop the daemon and delete the folders; its
# output goes straight through and its exit status becomes ours.
set +e
"$@"
status=$?
set -e
exit "$status"
