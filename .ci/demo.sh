#!/usr/bin/env bash
# The main job on this machine: the tiny nano3 recipe, locally, on the CPU: data prep, then pretraining.
# A stage that is not built yet in this version says so (exit 3) and the demo goes on to say what is still to come.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
todo=()
step() {
  echo; echo "== $*"
  "$@"; rc=$?
  if [ $rc -eq 3 ]; then todo+=("$*"); elif [ $rc -ne 0 ]; then echo "demo: '$*' failed with exit $rc"; exit $rc; fi
}
echo "== the tiny nano3 model: layers, parameters, FLOPs"
python - <<'PY'
from nemotron_nb.config import load_config
from nemotron_nb.pattern import param_counts, flops_per_token, parse_pattern
cfg = load_config("nano3", "tiny")
m = cfg.model; c = param_counts(m)
print(f"pattern {m.hybrid_layer_pattern}: {parse_pattern(m.hybrid_layer_pattern).counts()}")
print(f"{c.total:,} parameters ({c.active:,} active), {flops_per_token(m, cfg.train.seq_length)/1e6:.1f} MFLOP per token at {cfg.train.seq_length}")
PY
step nemotron nano3 data prep pretrain -c tiny
step nemotron nano3 pretrain -c tiny
echo
if [ ${#todo[@]} -gt 0 ]; then
  echo "demo: still to come in this version:"; for t in "${todo[@]}"; do echo "  - $t"; done
  echo "demo: everything that exists ran; see the README for what each stage writes"
else
  echo "demo: done"
fi
