#!/usr/bin/env bash
# npm test: type check, Node tests, browser tests. Fails if any part fails; runs every part it is asked for.
#   bash scripts/test.sh            everything
#   bash scripts/test.sh node       type check + Node tests
#   bash scripts/test.sh browser    browser tests only
set -uo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
status=0

bash scripts/prereqs.sh || exit 1

step() { echo; echo "=== $*"; }

if [ "$what" = all ] || [ "$what" = node ]; then
  step "type check (tsc --noEmit)"
  npx tsc -p tsconfig.json || status=1

  step "type check of the Deno side (deno check bridge/webtransport)"
  # bridge/webtransport/ runs on Deno (its globals): Node's tsc excludes it, Deno's checker checks it.
  node_modules/.bin/deno check --quiet --config bridge/webtransport/deno.json bridge/webtransport/main.ts || status=1

  step "API reference (typedoc --emit none: an undocumented export or a broken link fails)"
  npx typedoc --emit none || status=1

  step "build (esbuild)"
  node scripts/build.mjs || status=1

  step "node tests"
  # The file list is expanded here: on Node 20 a directory argument silently runs zero tests.
  # test/nat-lab/ needs root and namespaces: `npm run test:nat-lab` runs it (.ci/run does, as root).
  # The load tests measure what the bridge keeps up with on this machine's two cores: they run alone, after
  # the rest, so a neighbouring test file (a bundler, Chromium) does not take their CPU.
  alone=(test/bridge/load.test.ts test/bridge/overload.test.ts)
  mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/browser/*' -not -path 'test/nat-lab/*' | sort | grep -vxF -f <(printf '%s\n' "${alone[@]}"))
  if [ ${#files[@]} -eq 0 ]; then echo "no node test files found" >&2; status=1
  else node --import tsx --test --test-concurrency=2 "${files[@]}" || status=1
  fi
  step "load tests (alone)"
  for f in "${alone[@]}"; do [ -f "$f" ] || { echo "missing load test $f" >&2; status=1; }; done
  node --import tsx --test --test-concurrency=1 "${alone[@]}" || status=1
fi

if [ "$what" = browser ]; then
  # The pages under test load the built page client from dist/.
  step "build (esbuild)"
  node scripts/build.mjs || status=1
fi

if [ "$what" = all ] || [ "$what" = browser ]; then
  step "browser tests (headless Chromium)"
  node --import tsx node_modules/@web/test-runner/dist/bin.js --config web-test-runner.config.mjs || status=1
fi

echo
if [ $status -eq 0 ]; then echo "npm test: all suites passed"; else echo "npm test: FAILED" >&2; fi
exit $status
