#!/usr/bin/env bash
# `deno task docs:notebooks`: executes the notebooks on the demo's results (results/demo, or
# NAC_SAE_RESULTS) and publishes small HTML pages of them in docs/notebooks/ for readers who do not run them:
# nbconvert's "basic" template (the cells and outputs, charts as inline SVG) in a page with a few lines of CSS,
# instead of the full JupyterLab page with its ~300 KB of inline styles.
set -uo pipefail
cd "$(dirname "$0")/.."
export NAC_SAE_RESULTS="${NAC_SAE_RESULTS:-results/demo}"
[ -f "$NAC_SAE_RESULTS/results.parquet" ] || {
  echo "error: no results in $NAC_SAE_RESULTS (run deno task demo first)" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
NAC_SAE_REPORTS="$work" bash tools/run_notebooks.sh "$@" || exit 1
out=docs/notebooks
mkdir -p "$out"
for nb in "$work"/*.ipynb; do
  name=$(basename "$nb" .ipynb)
  jupyter-nbconvert --config tools/nbconvert_config.py --to html --template basic --output-dir "$work" \
    --output "$name.basic" "$nb" >/dev/null 2>&1 || { echo "error: HTML export of $name failed" >&2; exit 1; }
  {
    printf '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>nac-sae: %s</title>\n' "$name"
    cat <<'CSS'
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.jp-InputArea,.input_area,div.input{background:#f6f8fa;border-radius:4px;padding:.2em .6em;overflow-x:auto}
pre{font:13px/1.4 ui-monospace,monospace;white-space:pre-wrap} .jp-InputPrompt,.jp-OutputPrompt,.prompt{display:none}
table{border-collapse:collapse;font-size:13px;margin:.5em 0} td,th{border:1px solid #ddd;padding:2px 6px}
svg{max-width:100%;height:auto}
</style></head><body>
CSS
    printf '<p><em>Executed notebook <code>notebooks/%s.ipynb</code> on <code>%s</code>, exported by <code>deno task docs:notebooks</code>.</em></p>\n' \
      "$name" "$NAC_SAE_RESULTS"
    cat "$work/$name.basic.html"
    printf '</body></html>\n'
  } >"$out/$name.html"
  echo "wrote $out/$name.html ($(($(wc -c <"$out/$name.html") / 1024)) KiB)" >&2
done
