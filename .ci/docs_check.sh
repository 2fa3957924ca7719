#!/usr/bin/env bash
# Every step of the docs build short of the Quarto render: execute the notebooks (as nbdev_test does, keeping their
# outputs, made to work offline), process them as nbdev_docs would (.ci/proc_nbs.py), render each processed notebook to
# an HTML page as the site shows it (.ci/render_html.py), check that every figure a notebook drew is in its page, and
# lint the pages (.ci/docs_lint.py: no script from the network, no raw `$$`, no widget repr, no missing image).
# With Quarto installed, `make docs` renders the site from the same executed notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
stub=$(mktemp -d); trap 'rm -rf "$stub"' EXIT
printf '#!/bin/sh\nexit 0\n' > "$stub/quarto"; chmod +x "$stub/quarto"   # nbdev_proc_nbs insists on a quarto binary
export PATH="$stub:$PWD/.venv/bin:$PATH"
python -c "import latex2mathml" 2>/dev/null || { echo "docs check: latex2mathml (a dev requirement) is missing"
                                                 echo "(make venv installs it)"; exit 1; }
rm -rf _exec _proc
python .ci/execute_nbs.py nbs _exec --flags "slow"
python .ci/proc_nbs.py _exec   # nbdev_proc_nbs, with show_doc's kernel running only the imports of mixed test cells
python .ci/render_html.py _proc _proc/_html > /dev/null
python - <<'PY'
import json, sys
from pathlib import Path
out, bad = Path("_proc/_html"), []
nbs = sorted(p for p in Path("_proc").rglob("*.ipynb") if "_html" not in p.parts)
for nb in nbs:
    rel = nb.relative_to("_proc")
    figures = sum("application/vnd.plotly.v1+json" in o.get("data", {})
                  for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", []))
    html = out / rel.with_suffix(".html")
    if not html.exists(): bad.append(f"{rel}: no page"); continue
    drawn = html.read_text().count('class="plotly-graph-div"')
    if drawn < figures: bad.append(f"{rel}: {figures} figures in the notebook, {drawn} in its page")
    print(f"{rel}: page ok, {drawn} plotly figure(s)")
if bad: sys.exit("docs check failed:\n  " + "\n  ".join(bad))
PY
python .ci/docs_lint.py _proc/_html || { echo "docs check failed: the pages above have defects"; exit 1; }
echo "docs check: $(find _proc/_html -name '*.html' | wc -l) pages under _proc/_html, offline and lint-clean" \
     "(the site render itself needs Quarto)"
