#!/usr/bin/env bash
# `deno task test [FILES...]`: the test suite (default tests/), then, at the end, the test groups that were
# skipped because a tool or data was missing (each such group notes it, see tests/tools.ts), so a green run
# cannot hide lost coverage. Exit status: deno test's.
set -uo pipefail
cd "$(dirname "$0")/.."
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT
export NAC_SAE_TEST_SKIPS="$skips"
[ $# -gt 0 ] || set -- tests/
deno test --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run --allow-net=127.0.0.1 "$@"
status=$?
echo
if [ -s "$skips" ]; then
  echo "skipped for a missing tool or data ($(sort -u "$skips" | wc -l) test group(s); install it to run them):"
  sort -u "$skips" | sed 's/^/  /'
else
  echo "no test group skipped for a missing tool"
fi
exit $status
