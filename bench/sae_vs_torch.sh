#!/usr/bin/env bash
# SAE training speed and quality, ours (deno task cli sae train) vs a PyTorch TopK SAE with the reference's math
# (bench/sae_torch.py, Debian python3-torch), side by side in one run: same data (bench/sae_data.ts), same initial
# weights (our checkpoint at epoch 0), same batch orders (bench/sae_perms.ts), same config, 2 threads each.
# Prints one JSON line per case and a markdown table. Usage (from the repo root):
#   bench/sae_vs_torch.sh [cases]      cases: "d,q,s,N,epochs;..." (default: the BENCHMARKS.md set)
set -euo pipefail
cases=${1:-"1024,20,0.05,8192,2;1024,2,0.05,8192,6;1024,2,0.5,8192,6;1024,20,0.5,8192,2;128,20,0.05,16384,6;128,2,0.5,16384,10;64,20,0.05,16384,6;64,2,0.5,16384,10"}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
run="deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys"
rows=()
IFS=';' read -ra list <<< "$cases"
for c in "${list[@]}"; do
  IFS=',' read -r d q s n e <<< "$c"
  x="$tmp/X_${d}_${n}.npy"
  [ -f "$x" ] || $run bench/sae_data.ts "$n" "$d" 0 "$x"
  deno task -q cli sae train --features "$x" --q "$q" --s "$s" --epochs 0 --seed 0 --out "$tmp/init" 2>/dev/null
  $run bench/sae_perms.ts "$n" 0 "$e" "$tmp/perms.npy"
  t0=$(date +%s.%N)
  ours=$(deno task -q cli sae train --features "$x" --q "$q" --s "$s" --epochs "$e" --seed 0 --threads 2 \
    --out "$tmp/ours" --json 2>/dev/null | tail -1)
  t1=$(date +%s.%N)
  torch=$(/usr/bin/python3 bench/sae_torch.py --input "$x" --init "$tmp/init" --perms "$tmp/perms.npy" --threads 2 | tail -1)
  t2=$(date +%s.%N)
  rows+=("$(python3 - "$ours" "$torch" "$t0" "$t1" "$t2" "$d" "$q" "$s" "$n" "$e" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
t0, t1, t2 = map(float, sys.argv[3:6])
print(json.dumps({"d": int(sys.argv[6]), "q": float(sys.argv[7]), "s": float(sys.argv[8]), "n": int(sys.argv[9]),
  "epochs": int(sys.argv[10]), "k": o["k"], "d_z": o["d_z"], "engine": o["engine"],
  "ours_samples_per_s": round(o["samples_per_s"], 1), "torch_samples_per_s": round(t["samples_per_s"], 1),
  "speed_ratio": round(o["samples_per_s"] / t["samples_per_s"], 2),
  "ours_wall_s": round(t1 - t0, 1), "torch_wall_s": round(t2 - t1, 1),
  "ours_nmse": round(o["nmse"], 5), "torch_nmse": round(t["final_nmse"], 5),
  "nmse_rel_diff": round(abs(o["nmse"] - t["final_nmse"]) / t["final_nmse"], 5)}))
PY
)")
  echo "${rows[-1]}"
done
echo
echo "| d | q | s | k | d_z | engine | ours samples/s | torch samples/s | ours/torch | ours NMSE | torch NMSE | NMSE rel. diff |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
  python3 - "$r" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['d']} | {r['q']:g} | {r['s']:g} | {r['k']} | {r['d_z']} | {r['engine']} | {r['ours_samples_per_s']:.0f} | "
      f"{r['torch_samples_per_s']:.0f} | {r['speed_ratio']:.2f} | {r['ours_nmse']:.4f} | {r['torch_nmse']:.4f} | "
      f"{100 * r['nmse_rel_diff']:.2f} % |")
PY
done
