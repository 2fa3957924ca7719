#!/usr/bin/env bash
# Builds the separate environment in which the Megatron-Bridge translation is tested on a CPU (default: .venv-mbridge).
# Megatron-Bridge 0.3.1 cannot share the main environment: it requires transformers<5 (which has no NemotronH) and
# imports Transformer Engine, which cannot be installed without CUDA. So: its own venv, `pip install --no-deps
# megatron-bridge==0.3.1`, the pure-Python packages it imports, and an IMPORT-ONLY STAND-IN for transformer_engine
# (tests/megatron_bridge/te_import_only_standin; it lets megatron.bridge import, it computes nothing).
# Idempotent: a finished environment is reused. Exit 0 when ready, non-zero (with a reason on stderr) when not.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV="${MBRIDGE_VENV:-.venv-mbridge}"
STAMP="$ENV/.ready-v2"
if [ -f "$STAMP" ]; then echo "$ENV"; exit 0; fi
PY="${PYTHON:-python3}"
rm -rf "$ENV"
"$PY" -m venv "$ENV" >&2
PIP=("$ENV/bin/python" -m pip install -q --disable-pip-version-check)
"${PIP[@]}" "torch==2.13.0" >&2                              # the local CPU wheel first, pinned
"${PIP[@]}" "megatron-core==0.16.1" "transformers<5" "huggingface-hub<1" "datasets<4" "omegaconf>=2.4" \
  pyyaml rich six regex tqdm einops triton matplotlib ipython tensorboard megatron-energon nvidia-resiliency-ext \
  typing-extensions numpy tokenizers safetensors "fastcore>=1.12.3,<1.13" "antlr4-python3-runtime==4.9.3" >&2
"${PIP[@]}" --no-deps "hydra-core==1.3.2" "megatron-bridge==0.3.1" >&2  # hydra wants omegaconf<2.4; ours needs 2.4
"${PIP[@]}" --no-deps -e . >&2                                 # nemotron_nb itself
site=$("$ENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "$PWD/tests/megatron_bridge/te_import_only_standin" > "$site/transformer_engine_import_only_standin.pth"
"$ENV/bin/python" -c "import transformer_engine as te; assert te.IMPORT_ONLY_STANDIN; from megatron.bridge.training.config import ConfigContainer; from megatron.bridge.models.nemotronh import Nemotron3NanoProvider" >&2
touch "$STAMP"
echo "$ENV"
