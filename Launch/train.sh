#!/usr/bin/env bash
# The main job: Fashion-MNIST on every core of this machine, one MPI rank per core with one BLAS
# thread each, writing a run directory with metrics, checkpoints and the explanation export.
# Arguments pass through to `mpivae train` (e.g. --epochs 20, --out runs/other); with
# --resume RUN_DIR the run continues with its own saved settings.
set -euo pipefail
cd "$(dirname "$0")/.."

# GNU nproc answers OMP_NUM_THREADS when it is set (often 1 on clusters and in job scripts), which
# would run one rank on a multi-core node; the cores this process may use are what counts.
ranks=${MPIVAE_RANKS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
# mpirun reads 0 as "one rank a slot" and answers other odd values with a page of text.
case "$ranks" in
  "" | *[!0-9]* | 0*) echo "error: MPIVAE_RANKS=$ranks: expected a whole number of ranks, 1 or more" >&2; exit 2 ;;
esac

Launch/setup.sh
swift build -c release --product mpivae >&2

root_flag=()
[ "$(id -u)" -eq 0 ] && root_flag=(--allow-run-as-root)

has_out=0
resuming=0
has_config=0
for a in "$@"; do
  case "$a" in
    --out|--out=*) has_out=1 ;;
    --resume|--resume=*) resuming=1 ;;
    --config|--config=*) has_config=1 ;;
  esac
done

args=()
# A run being resumed keeps its settings, and a --config file gives its own: the flags below
# would override them, so either way nothing is added.
if [ $resuming -eq 0 ] && [ $has_config -eq 0 ]; then
  # The benchmark model and recipe; later arguments override any of these.
  args=(--data fashion-mnist --epochs 10 --batch-size 128 --latent 32 --hidden "512,256" --lr 1e-3 --seed 0)
  # Several ranks: the sharded optimizer, which on one host sums the gradients and gathers the
  # parameters in shared memory (each rank reads its slice once, runs Adam on 1/N of the arena)
  # instead of an allreduce and N full Adam passes. The same parameters on 2 ranks, bit for bit.
  if [ "$ranks" -gt 1 ]; then args+=(--shard-optimizer); fi
  if [ $has_out -eq 0 ]; then
    # Never write into an earlier run: take the first free name.
    out=runs/fashion-mnist
    n=2
    while [ -e "$out/config.json" ] || [ -e "$out/checkpoints" ]; do out=runs/fashion-mnist-$n; n=$((n + 1)); done
    args+=(--out "$out")
  fi
fi

# Ranks x threads = cores: BLAS threads inside ranks would fight each other for the same cores.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
exec mpirun "${root_flag[@]}" -np "$ranks" --bind-to core --map-by core \
  -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS \
  .build/release/mpivae train "${args[@]}" "$@"
