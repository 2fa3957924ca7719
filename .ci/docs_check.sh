#!/usr/bin/env bash
# Every step of the docs build short of the Quarto render: process the notebooks as nbdev_docs would, then render each
# processed notebook to HTML with nbconvert and check that it rendered.
set -euo pipefail
cd "$(dirname "$0")/.."
stub=$(mktemp -d); trap 'rm -rf "$stub"' EXIT
printf '#!/bin/sh\nexit 0\n' > "$stub/quarto"; chmod +x "$stub/quarto"
export PATH="$stub:$PWD/.venv/bin:$PATH"
rm -rf _proc
nbdev_proc_nbs
out=_proc/_html; mkdir -p "$out"
n=0
while IFS= read -r nb; do
  jupyter nbconvert --to html --log-level WARN --output-dir "$out/$(dirname "${nb#_proc/}")" "$nb"
  n=$((n+1))
done < <(find _proc -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)
echo "docs check: $n processed notebooks rendered to HTML under $out (the Quarto render itself needs Quarto)"
