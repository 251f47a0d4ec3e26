#!/usr/bin/env bash
# Checks the system programs the test suites need, and installs the missing ones with apt-get when it can
# (root on Debian/Ubuntu). Otherwise it stops with the exact command to run. Never skips a suite silently.
set -euo pipefail

chrome="${CHROME_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$chrome" ] || missing+=(chromium)
command -v turnserver >/dev/null 2>&1 && command -v turnutils_stunclient >/dev/null 2>&1 || missing+=(coturn)
/usr/bin/python3 -c 'import aioice' >/dev/null 2>&1 || missing+=(python3-aioice)
# libnice (ICE-TCP interop) through GObject introspection.
/usr/bin/python3 -c 'import gi; gi.require_version("Nice", "0.1")' >/dev/null 2>&1 || missing+=(gir1.2-nice-0.1 python3-gi)
[ -x /usr/sbin/nginx ] || missing+=(nginx)

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "prereqs: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
  # coturn's package enables a system service on install; tests start their own servers, so stop it.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop coturn >/dev/null 2>&1 || true; fi
  exit 0
fi
echo "prereqs: missing ${missing[*]}. Install them with:" >&2
echo "  sudo sh -c '$cmd'" >&2
[ -x "$chrome" ] || echo "  (or point CHROME_PATH at a Chromium/Chrome binary)" >&2
exit 1
