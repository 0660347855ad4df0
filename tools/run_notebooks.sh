#!/usr/bin/env bash
# Executes the notebooks headless with the Deno Jupyter kernel (Debian jupyter-nbconvert + nbclient) and writes,
# per notebook, the executed .ipynb and an HTML page to results/reports/. Charts survive in the HTML because
# every chart bundle carries a server-side SVG next to its Vega-Lite spec.
#
# Usage: tools/run_notebooks.sh [notebooks/NN_name.ipynb ...]     (default: all of notebooks/*.ipynb)
# Environment: NAC_SAE_RESULTS   results directory the notebooks read (default results/demo)
#              NAC_SAE_REPORTS   output directory (default results/reports)
#              NAC_SAE_NOTEBOOK_TIMEOUT  seconds per cell (default 600)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${NAC_SAE_REPORTS:-results/reports}"
timeout="${NAC_SAE_NOTEBOOK_TIMEOUT:-600}"
export NAC_SAE_RESULTS="${NAC_SAE_RESULTS:-results/demo}"

if ! command -v jupyter-nbconvert >/dev/null 2>&1; then
  echo "error: jupyter-nbconvert not found; install Debian's jupyter-nbconvert python3-nbclient python3-ipykernel" >&2
  exit 1
fi
# The kernel spec "deno" (`deno jupyter --install` writes it into the user's Jupyter data directory).
if ! /usr/bin/python3 -c 'import sys; from jupyter_client.kernelspec import KernelSpecManager as K; sys.exit(0 if "deno" in K().find_kernel_specs() else 1)' 2>/dev/null; then
  echo "registering the Deno Jupyter kernel (deno jupyter --install)" >&2
  deno jupyter --install >/dev/null 2>&1 || { echo "error: deno jupyter --install failed" >&2; exit 1; }
fi
if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=(notebooks/*.ipynb); fi
mkdir -p "$out"
echo "notebooks: ${#notebooks[@]}, results from ${NAC_SAE_RESULTS}, writing to ${out}/" >&2

failed=0
i=0
for nb in "${notebooks[@]}"; do
  i=$((i + 1))
  name="$(basename "$nb" .ipynb)"
  t0=$(date +%s)
  log="$out/$name.log"
  if jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=deno \
    --ExecutePreprocessor.timeout="$timeout" --output-dir "$out" --output "$name" "$nb" >"$log" 2>&1 &&
    jupyter-nbconvert --config tools/nbconvert_config.py --to html --output-dir "$out" --output "$name" "$out/$name.ipynb" >>"$log" 2>&1; then
    charts=$(grep -o '<svg xmlns="http://www.w3.org/2000/svg"' "$out/$name.html" | wc -l)
    tables=$(grep -o '<table class="nac-sae"' "$out/$name.html" | wc -l)
    echo "[$i/${#notebooks[@]}] $name ok ($(($(date +%s) - t0)) s, $charts charts, $tables tables) -> $out/$name.html" >&2
  else
    failed=$((failed + 1))
    echo "[$i/${#notebooks[@]}] $name FAILED ($(($(date +%s) - t0)) s); log: $log" >&2
    grep -E "Error|error" "$log" | tail -n 5 >&2
  fi
done
echo "notebooks: $((i - failed)) ok, $failed failed" >&2
[ "$failed" -eq 0 ]
