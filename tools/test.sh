#!/usr/bin/env bash
# `deno task test [FILES...]`: the test suite (default tests/). First the system packages the tests use
# (tools/system_packages.sh, the same list as .ci/run) are installed when they can be (root or passwordless sudo;
# pyarrow with pip); NAC_SAE_TEST_NO_INSTALL=1 skips that. At the end: the test groups that were skipped because a
# tool or data was missing (each such group notes it, see tests/tools.ts), so a green run cannot hide lost
# coverage, and the one command that installs what is missing. Exit status: deno test's.
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/system_packages.sh
if [ -z "${NAC_SAE_TEST_NO_INSTALL:-}" ]; then
  install_test_dependencies test || true
else
  export PYTHONPATH="$PYLIB${PYTHONPATH:+:$PYTHONPATH}"
fi
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
fix=$(install_command)
[ -z "$fix" ] || echo "to install what the skipped groups need: $fix"
exit $status
