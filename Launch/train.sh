#!/usr/bin/env bash
# The main job: Fashion-MNIST on every core of this machine, one MPI rank per core with one BLAS
# thread each, writing a run directory with metrics, checkpoints and the explanation export.
# Arguments pass through to `mpivae train` (e.g. --epochs 20, --out runs/other, --resume runs/x).
set -euo pipefail
cd "$(dirname "$0")/.."

Launch/setup.sh
swift build -c release --product mpivae >&2

ranks=${MPIVAE_RANKS:-$(nproc)}
root_flag=()
[ "$(id -u)" -eq 0 ] && root_flag=(--allow-run-as-root)

args=("$@")
has_out=0
for a in "${args[@]}"; do case "$a" in --out|--out=*|--resume|--resume=*) has_out=1 ;; esac; done
[ $has_out -eq 1 ] || args=(--out runs/fashion-mnist "${args[@]}")

# Ranks x threads = cores: BLAS threads inside ranks would fight each other for the same cores.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
exec mpirun "${root_flag[@]}" -np "$ranks" --bind-to core --map-by core \
  -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS \
  .build/release/mpivae train --data fashion-mnist --epochs 10 --batch-size 128 \
  --latent 32 --hidden 512,256 --lr 1e-3 --seed 0 "${args[@]}"
