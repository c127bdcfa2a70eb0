#!/usr/bin/env bash
# Installs the Debian package on this machine and starts the service by hand, the way
# systemd would (there is no systemd here): the unit's ExecStart line, as the unit's User.
# The only change to that line is `--listen 127.0.0.1:0` appended, so that the smoke test
# never opens a port beyond loopback nor collides with a server already on 3478.
#
#   scripts/deb-smoke.sh [PACKAGE.deb]    (default: the newest target/debian/pxe-pilot_*.deb,
#                                          built by scripts/build-deb.sh when there is none)
#
# Checks: dpkg -i succeeds; the pxe-pilot user, the conffile (0640 root:pxe-pilot), the
# default configuration's folders exist; the unit verifies (systemd-analyze, when present);
# the service starts with the default configuration, answers /v1/healthcheck, /v1/version,
# hands out /usr/bin/pxe-pilot at /v1/client/pxe-pilot, can write its per-MAC folder; the
# installed `pxe-pilot version` talks to it; SIGTERM stops it with status 0. Leaves the
# package installed. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "deb-smoke: $*"; }
fail() { echo "deb-smoke: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
deb="${1:-}"
if [ -z "$deb" ]; then
  deb=$(ls -t target/debian/pxe-pilot_*.deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || deb=$(bash scripts/build-deb.sh | tail -n 1)
fi
[ -f "$deb" ] || fail "no package at $deb"

say "dpkg -i $deb"
# No service may start during the install (a policy-rc.d, unless the machine has one); there
# is no systemd running here anyway, and this script starts the service itself.
pid="" own_policy=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
}
trap cleanup EXIT
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  own_policy=1
fi
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"

say "what the package set up"
getent passwd pxe-pilot >/dev/null || fail "no pxe-pilot user"
[ "$(stat -c '%a %U:%G' /etc/pxe-pilot/pxe-pilot.yml)" = "640 root:pxe-pilot" ] \
  || fail "/etc/pxe-pilot/pxe-pilot.yml is $(stat -c '%a %U:%G' /etc/pxe-pilot/pxe-pilot.yml)"
dpkg-query -W -f='${Conffiles}\n' pxe-pilot | grep -q '/etc/pxe-pilot/pxe-pilot.yml' \
  || fail "the configuration is not a conffile"
[ -d /srv/tftp/pxelinux.cfg/conf ] || fail "no catalogue folder /srv/tftp/pxelinux.cfg/conf"
unit=$(dpkg -L pxe-pilot | grep '/systemd/system/pxe-pilot.service$' | head -n 1)
[ -f "$unit" ] || fail "no unit installed"
man -w pxe-pilot >/dev/null 2>&1 || [ -f /usr/share/man/man1/pxe-pilot.1.gz ] \
  || [ -f /usr/share/man/man1/pxe-pilot.1 ] || fail "no man page"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
  say "systemd-analyze verify $unit: ok"
fi

exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
say "the unit's ExecStart, as User=$user: $exec_start  (+ --listen 127.0.0.1:0)"
runuser -u "$user" -- test -w /srv/tftp/pxelinux.cfg || fail "$user cannot write /srv/tftp/pxelinux.cfg"

out=$(mktemp) err=$(mktemp)
# shellcheck disable=SC2086 # the ExecStart line is split into words, as systemd does
setpriv --reuid="$user" --regid="$user" --init-groups -- $exec_start --listen 127.0.0.1:0 >"$out" 2>"$err" &
pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; fail "the service exited at start"; }
  sleep 0.1
done
url=$(sed -n 's/^pxe-pilot-server listening on //p' "$out")
[ -n "$url" ] || { cat "$err" >&2; fail "no 'listening on' line"; }
say "the service listens on $url"

curl -fsS -o /dev/null -w '%{http_code}\n' "$url/v1/healthcheck" | grep -qx 204 || fail "healthcheck"
[ "$(stat -c '%a %U:%G' /etc/pxe-pilot/token)" = "640 root:pxe-pilot" ] \
  || fail "/etc/pxe-pilot/token is $(stat -c '%a %U:%G' /etc/pxe-pilot/token)"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH "$url/v1/refresh")
[ "$code" = 401 ] || fail "a change without the token answered $code, not 401"
/usr/bin/pxe-pilot -s "$url" --token-file /etc/pxe-pilot/token host refresh \
  || fail "the generated token does not unlock changes"
curl -fsS "$url/v1/version" | grep -q '"name":"pxe-pilot"' || fail "/v1/version"
tmp=$(mktemp)
curl -fsS -o "$tmp" "$url/v1/client/pxe-pilot"
cmp -s "$tmp" /usr/bin/pxe-pilot || fail "/v1/client/pxe-pilot is not /usr/bin/pxe-pilot"
chmod +x "$tmp"
"$tmp" -s "$url" version
/usr/bin/pxe-pilot -s "$url" host list
rm -f "$tmp"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { cat "$err" >&2; fail "SIGTERM: exit status $status"; }
say "SIGTERM: exit status 0"
say "the service's log:"
sed 's/^/  | /' "$err"
say "ok: $(dpkg-query -W -f='${Package} ${Version}' pxe-pilot) installed, the service starts with the default configuration"
