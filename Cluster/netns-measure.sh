#!/usr/bin/env bash
# Samples/s and communication share of the training step across two netns test hosts (one rank
# each, TCP), for the fused allreduce and each gradient option, runs interleaved so drift in the
# machine's speed hits every option alike; prints the median of each. Root; build first
# (swift build -c release). Usage:
#
#   Cluster/netns-measure.sh [--rate 10gbit] [--reps 3] [--only fused,lowrank-4] [--mca NAME VALUE]... [-- TRAIN ARGS...]
#
# Each run is one epoch of the benchmark recipe (Fashion-MNIST, global batch 128); TRAIN ARGS
# are added to it. --mca settings go to mpirun (e.g. --mca mpi_yield_when_idle 1).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=() reps=3 mca=() extra=() only=
while [ $# -gt 0 ]; do
  case $1 in
    --rate) rate=(--rate "$2"); shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --only) only=",$2,"; shift 2 ;;
    --mca) mca+=(--mca "$2" "$3"); shift 3 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "netns-measure: unknown option '$1'" >&2; exit 2 ;;
  esac
done
bin=${BIN:-.build/release/mpivae}
[ -x "$bin" ] || { echo "netns-measure: no $bin; build first (swift build -c release)" >&2; exit 2; }
run=$(Cluster/netns-hosts.sh up 2 "${rate[@]}")
scratch=$(mktemp -d)
trap 'Cluster/netns-hosts.sh down "$run" 2>/dev/null || true; rm -rf "$scratch"' EXIT

options=("fused:" "buckets-1MiB:--grad-bucket-mb 1" "bf16:--grad-compression bf16" "fp16:--grad-compression fp16"
         "buckets-1MiB+bf16:--grad-bucket-mb 1 --grad-compression bf16" "sharded:--shard-optimizer" "lowrank-4:--grad-low-rank 4" "lowrank-1:--grad-low-rank 1")
if [ -n "$only" ]; then
  kept=()
  for option in "${options[@]}"; do [[ $only == *",${option%%:*},"* ]] && kept+=("$option"); done
  [ ${#kept[@]} -gt 0 ] || { echo "netns-measure: --only names none of the options" >&2; exit 2; }
  options=("${kept[@]}")
fi
for rep in $(seq 1 "$reps"); do
  for option in "${options[@]}"; do
    name=${option%%:*}; read -r -a flags <<< "${option#*:}"
    line=$(Cluster/netns-hosts.sh mpirun "$run" -np 2 --map-by node -x OPENBLAS_NUM_THREADS=1 "${mca[@]}" \
      "$(readlink -f "$bin")" train --data fashion-mnist --epochs 1 --batch-size 128 --latent 32 --hidden 512,256 \
      --lr 1e-3 --seed 0 --no-explain --out "$scratch/$name-$rep" "${flags[@]}" "${extra[@]}" 2>&1 | grep '^epoch 1/1' || true)
    rm -rf "${scratch:?}/$name-$rep"
    speed=$(sed -nE 's/.* ([0-9]+) samples\/s.*/\1/p' <<< "$line")
    share=$(sed -nE 's/.*allreduce ([0-9.]+)% of step.*/\1/p' <<< "$line")
    echo "$name ${speed:-nan} ${share:-nan}" >> "$scratch/results"
    echo "run $rep: $name: ${speed:-failed} samples/s, communication ${share:-?}% of the step" >&2
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-20s %10s  %s\n' option samples/s "communication share (medians)"
for option in "${options[@]}"; do
  name=${option%%:*}
  speed=$(awk -v n="$name" '$1 == n { print $2 }' "$scratch/results" | median)
  share=$(awk -v n="$name" '$1 == n { print $3 }' "$scratch/results" | median)
  printf '%-20s %10s  %s%%\n' "$name" "$speed" "$share"
done
