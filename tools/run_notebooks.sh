#!/usr/bin/env bash
# Executes the notebooks headless with the Deno Jupyter kernel (Debian jupyter-nbconvert + nbclient) and writes,
# per notebook, the executed .ipynb and an HTML page to results/reports/. Charts survive in the HTML because
# every chart bundle carries a server-side SVG next to its Vega-Lite spec.
#
# Usage: tools/run_notebooks.sh [--cwd DIR] [notebooks/NN_name.ipynb ...]   (default: all of notebooks/*.ipynb)
#   --cwd DIR  the kernel's working folder (default: the notebook's folder, as Jupyter and nbconvert do; the
#              notebooks import the library as `nac-sae/...` through deno.json's import map, so any folder
#              inside the project works)
# Environment: NAC_SAE_RESULTS   results directory the notebooks read (default results/demo)
#              NAC_SAE_REPORTS   output directory (default results/reports)
#              NAC_SAE_NOTEBOOK_TIMEOUT  seconds per cell (default 600)
set -uo pipefail
kernel_cwd=""
if [ "${1:-}" = "--cwd" ]; then kernel_cwd=$(cd "$2" && pwd) || exit 1; shift 2; fi
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
echo "notebooks: ${#notebooks[@]}, results from ${NAC_SAE_RESULTS}, kernel in ${kernel_cwd:-the notebook folder}, writing to ${out}/" >&2

failed=0
i=0
for nb in "${notebooks[@]}"; do
  i=$((i + 1))
  name="$(basename "$nb" .ipynb)"
  t0=$(date +%s)
  log="$out/$name.log"
  cwd="${kernel_cwd:-$(cd "$(dirname "$nb")" && pwd)}"
  # nbclient directly (what nbconvert --execute runs), so that the kernel's working folder can be chosen.
  if /usr/bin/python3 -c '
import sys, nbformat
from nbclient import NotebookClient
src, dst, cwd, timeout = sys.argv[1:5]
nb = nbformat.read(src, as_version=4)
NotebookClient(nb, kernel_name="deno", timeout=int(timeout), resources={"metadata": {"path": cwd}}).execute()
nbformat.write(nb, dst)
' "$nb" "$out/$name.ipynb" "$cwd" "$timeout" >"$log" 2>&1 &&
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
