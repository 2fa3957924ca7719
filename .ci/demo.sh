#!/usr/bin/env bash
# The main job on this machine: the tiny nano3 recipe, locally, on the CPU, end to end:
#   1. data prep (the tiny corpus -> bin/idx shards + blend.json, registered as nano3-pretrain-data-tiny),
#   2. pretraining (100 iterations of 8 x 128 tokens: checkpoints, metrics, a Hugging Face export, the model artifact),
#   3. the export loaded back in transformers, generating text.
# Output goes under ./output (set DEMO_OUT to put it elsewhere). A rerun resumes / reuses what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
OUT="${DEMO_OUT:-$PWD}"; mkdir -p "$OUT"; cd "$OUT"
start=$(date +%s)
echo "== the tiny nano3 model: layers, parameters, FLOPs"
python - <<'PY'
from nemotron_nb.recipe import load_config
from nemotron_nb.pattern import param_counts, flops_per_token, parse_pattern
cfg = load_config("nano3", "tiny")
m = cfg.model; c = param_counts(m)
print(f"pattern {m.hybrid_layer_pattern}: {parse_pattern(m.hybrid_layer_pattern).counts()}")
print(f"{c.total:,} parameters ({c.active:,} active), {flops_per_token(m, cfg.train.seq_length)/1e6:.1f} MFLOP per token at {cfg.train.seq_length}")
PY
echo; echo "== nemotron nano3 data prep pretrain -c tiny"
nemotron nano3 data prep pretrain -c tiny
echo; echo "== nemotron nano3 pretrain -c tiny"
nemotron nano3 pretrain -c tiny "$@"
echo; echo "== the Hugging Face export, in transformers"
python - <<'PY'
import warnings; warnings.filterwarnings("ignore")
import os; os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging; logging.set_verbosity_error()
path = "output/checkpoints/nano3-pretrain-model-tiny/hf"
tok, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()
ids = tok("def ", return_tensors="pt").input_ids
out = model.generate(ids, max_new_tokens=24, do_sample=False)
print(f"{type(model).__name__} from {path}, {sum(p.numel() for p in model.parameters()):,} parameters; greedy continuation of 'def ':")
print("  " + repr(tok.decode(out[0])))
PY
echo
echo "demo: done in $(( $(date +%s) - start )) s. Where everything went (under $OUT):"
echo "  data (bin/idx shards, blend.json, metadata.json)  output/nano3/stage0_pretrain_tiny/"
echo "  checkpoints iter_NNNNNNN/, metrics.jsonl, config  output/checkpoints/nano3-pretrain-model-tiny/"
echo "  Hugging Face checkpoint (+ tokenizer)             output/checkpoints/nano3-pretrain-model-tiny/hf/"
echo "  artifact registry (data -> model lineage)         output/artifacts/{nano3-pretrain-data-tiny,nano3-pretrain-model-tiny}/"
