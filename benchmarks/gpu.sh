#!/usr/bin/env bash
# The GPU path, measured in one prepared script (at most ~8 minutes on one GPU): every trainer on CUDA side
# by side with the paper's loop (benchmarks/gpu.py), then the tiny test campaign's training rules through
# Snakemake with training.device cuda. Needs .venv with a CUDA build of torch (docs/cluster.md, "GPUs").
#
#   bash benchmarks/gpu.sh              # on a machine with a GPU; figures into benchmarks/results/
#   bash benchmarks/gpu.sh --dry-run    # the same steps, tiny, on the CPU; the rules planned, not run
#                                       # (tests/integration/test_workflow.py runs it on the tiny campaign)
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
dry=""; device=cuda; run=()
if [[ "${1:-}" == "--dry-run" ]]; then dry="--dry-run"; device=cpu; run=(-n); fi
out=${ASTRAY_GPU_OUT:-benchmarks/results}
mkdir -p "$out"

$python -c "import torch; print('torch', torch.__version__, 'CUDA', torch.cuda.is_available() and torch.cuda.get_device_name())"
# ASTRAY_GPU_DATA: a labeled extxyz (atom_energies.json beside it) instead of the organic set labeled here.
data=(); [[ -n "${ASTRAY_GPU_DATA:-}" ]] && data=(--data "$ASTRAY_GPU_DATA")
timeout 420 $python benchmarks/gpu.py --device "$device" $dry "${data[@]}" --out "$out/gpu.json"

# The campaign's own training rules (SchNet, NequIP, SevenNet fine-tuning) on the device, as a user runs them.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timeout 300 .venv/bin/snakemake --snakefile "$PWD/Snakefile" --directory "$work" --cores all \
    --configfile config/config.yaml tests/config/tiny.yaml --config "training={device: $device}" \
    --until train train_nequip train_finetune "${run[@]}"
echo "tiny campaign's training rules on $device: done"
