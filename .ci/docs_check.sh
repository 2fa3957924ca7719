#!/usr/bin/env bash
# Every step of the docs build short of the Quarto render: execute the notebooks (as nbdev_test does, keeping their
# outputs), process them as nbdev_docs would (nbdev_proc_nbs), render each processed notebook to HTML with nbconvert,
# and check that every figure a notebook drew is in its HTML. With Quarto installed, `make docs` renders the site.
set -euo pipefail
cd "$(dirname "$0")/.."
stub=$(mktemp -d); trap 'rm -rf "$stub"' EXIT
printf '#!/bin/sh\nexit 0\n' > "$stub/quarto"; chmod +x "$stub/quarto"   # nbdev_proc_nbs insists on a quarto binary
export PATH="$stub:$PWD/.venv/bin:$PATH"
rm -rf _exec _proc
python .ci/execute_nbs.py nbs _exec --flags "slow"
nbdev_proc_nbs --path _exec
python - <<'PY'
import json, subprocess, sys
from pathlib import Path
out = Path("_proc/_html"); bad = []
nbs = sorted(p for p in Path("_proc").rglob("*.ipynb") if "_html" not in p.parts)
for nb in nbs:
    rel = nb.relative_to("_proc")
    figures = sum("application/vnd.plotly.v1+json" in o.get("data", {})
                  for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", []))
    dest = out / rel.parent
    r = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--log-level", "ERROR",
                        "--output-dir", str(dest), str(nb)], capture_output=True, text=True)
    html = dest / (nb.stem + ".html")
    if r.returncode or not html.exists(): bad.append(f"{rel}: nbconvert failed: {r.stderr.strip()[-300:]}"); continue
    drawn = html.read_text().count('class="plotly-graph-div"')
    if drawn < figures: bad.append(f"{rel}: {figures} figures in the notebook, {drawn} in its HTML")
    print(f"{rel}: HTML ok, {drawn} plotly figure(s)")
if bad: sys.exit("docs check failed:\n  " + "\n  ".join(bad))
print(f"docs check: {len(nbs)} notebooks processed and rendered to HTML under {out} (the site render itself needs Quarto)")
PY
