#!/usr/bin/env bash
# Opens an HTML report (or notebook HTML) in headless Chromium and saves a PNG screenshot; with --dom, prints the
# rendered DOM instead and a last line "svg=N lines=M" (charts and line marks the browser actually holds).
# Usage: tools/screenshot_report.sh REPORT.html [OUT.png] [WIDTH,HEIGHT]    |    tools/screenshot_report.sh --dom REPORT.html
set -euo pipefail
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$browser" ] || { echo "error: no chromium found (Debian: apt-get install chromium)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --user-data-dir="$profile")
if [ "${1:-}" = "--dom" ]; then
  html="$(realpath "$2")"
  dom="$(timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$html" 2>/dev/null)"
  echo "$dom"
  echo "svg=$(grep -o '<svg' <<<"$dom" | wc -l) lines=$(grep -o 'class="mark-line role-mark' <<<"$dom" | wc -l)"
  exit 0
fi
html="$(realpath "$1")"
out="${2:-${1%.html}.png}"
size="${3:-1280,4000}"
timeout 120 "$browser" "${flags[@]}" --hide-scrollbars --window-size="$size" --screenshot="$(realpath -m "$out")" \
  "file://$html" >/dev/null 2>&1
[ -s "$out" ] || { echo "error: no screenshot written to $out" >&2; exit 1; }
echo "$out"
