#!/usr/bin/env bash
# npm run test:nat-lab: icebridge across real Linux NATs in network namespaces (test/nat-lab/run.ts).
# Needs root. Without root it says so and exits 0 (a skip, never silent). As root it installs what is missing
# (iproute2, iptables, nftables) with apt-get, like scripts/prereqs.sh; elsewhere it prints the command.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  echo "nat-lab: SKIPPED — it needs root (uid is $(id -u)): it creates network namespaces, veth links and NAT rules. Run: sudo npm run test:nat-lab"
  exit 0
fi

missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "nat-lab: installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2 || { echo "nat-lab: apt-get install ${missing[*]} failed" >&2; exit 1; }
  else
    echo "nat-lab: missing ${missing[*]}; install them (Debian/Ubuntu: apt-get install -y iproute2 iptables nftables)" >&2
    exit 1
  fi
fi

status=0
node --import tsx test/nat-lab/run.ts "$@" || status=1
# The lab's node:test files (mDNS between namespaces on one segment): root-only like the lab, so here and not in npm test.
mapfile -t files < <(find test/nat-lab -name '*.test.ts' | sort)
if [ ${#files[@]} -gt 0 ]; then node --import tsx --test "${files[@]}" || status=1; fi
exit $status
