#!/usr/bin/env bash
# Frame-level SAE training speed (run config saeInput "frames"), ours vs PyTorch CPU, side by side in one run: the
# frame-level hot loop is trainSae over many frame rows in minibatches of 1024 (the `sae train` default, as in a
# grid), so this runs bench/sae_vs_torch.sh (same data, same initial weights, same batch orders, 2 threads each) on
# the demo's frame shapes: d = 64 (Lyra's ê), N = 65536 frame rows (≈ 330 recordings × 200 frames, the default
# cap), d_z 128–1280 (q 2–20), k 4–32 (s 0.0625–0.5). Data: bench/sae_data.ts's planted structure at d = 64.
# Usage (from the repo root): bench/sae_frames_vs_torch.sh [cases]   (cases as bench/sae_vs_torch.sh: "d,q,s,N,epochs;...")
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-"64,2,0.0625,65536,2;64,2,0.5,65536,2;64,5,0.25,65536,2;64,20,0.0625,65536,2;64,20,0.5,65536,2"}
exec bench/sae_vs_torch.sh "$cases"
