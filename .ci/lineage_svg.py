#!/usr/bin/env python
"""Draw the lineage flowcharts of the stage notebooks as static SVG images, from the mermaid source each notebook keeps
in an HTML comment (`<!-- mermaid ... -->`), so that the picture shows in JupyterLab, in the docs and offline, with no
mermaid renderer and no network. Only what those charts use is understood: `flowchart LR`, nodes `id["label"]` (with
`<br/>` line breaks) and edge chains `a --> b --> c`. The longest chain of edges is the top row; a node that only feeds
the chain sits under the first node it feeds.

usage: lineage_svg.py [--check]     (writes nbs/images/<notebook>_lineage.svg; --check: exit 1 if one is out of date)
"""
import html, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("nbs/stages/nano3_stage0_pretrain.ipynb", "nbs/stages/super3_stage0_pretrain.ipynb")
_COMMENT = re.compile(r"<!--\s*mermaid\b[^\n]*\n(flowchart.*?)\n-->", re.S)  # ends at a line `-->`
_NODE = re.compile(r'(\w+)\["([^"]*)"\]')
CHAR_W, LINE_H, PAD, GAP_X, GAP_Y = 7.0, 16, 10, 40, 30


def mermaid_source(notebook) -> str:
    "The mermaid flowchart kept in a `<!-- mermaid ... -->` comment of the notebook's markdown."
    for c in json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]:
        if c["cell_type"] == "markdown" and (m := _COMMENT.search("".join(c["source"]))): return m.group(1).strip()
    raise SystemExit(f"{notebook}: no <!-- mermaid ... --> comment")


def parse(src: str) -> tuple[dict, list]:
    "(labels by node id in order of appearance, edges) of a `flowchart LR`."
    lines = src.splitlines()
    if not lines or lines[0].split() != ["flowchart", "LR"]: raise SystemExit(f"expected 'flowchart LR': {lines[:1]}")
    labels, edges = {}, []
    for line in lines[1:]:
        for node, label in _NODE.findall(line): labels[node] = label.split("<br/>")
        ids = [_NODE.sub(r"\1", part).strip() for part in line.split("-->")]
        for i in ids: labels.setdefault(i, [i])
        edges += list(zip(ids, ids[1:]))
    return labels, edges


def layout(labels: dict, edges: list) -> dict:
    "(column, row) of every node: the longest chain on row 0, each other node under the first chain node it feeds."
    succ = {n: [b for a, b in edges if a == n] for n in labels}
    def chain(n): return max(([n] + chain(s) for s in succ[n]), key=len, default=[n])
    main = max((chain(n) for n in labels), key=len)
    pos = {n: (i, 0) for i, n in enumerate(main)}
    for n in labels:
        if n in pos: continue
        col = min(pos[s][0] for s in succ[n] if s in pos)
        pos[n] = (col, 1 + sum(1 for c, r in pos.values() if c == col and r > 0))
    return pos


def _clip(c, o, w, h):
    "The point where the segment from box centre `c` towards `o` leaves the box of size (w, h)."
    dx, dy = o[0] - c[0], o[1] - c[1]
    t = min(w / 2 / abs(dx) if dx else float("inf"), h / 2 / abs(dy) if dy else float("inf"))
    return c[0] + t * dx, c[1] + t * dy


def svg(src: str, title: str) -> str:
    "The SVG picture of the flowchart `src`."
    labels, edges = parse(src)
    pos = layout(labels, edges)
    w = max(len(l) for ls in labels.values() for l in ls) * CHAR_W + 2 * PAD
    h = max(len(ls) for ls in labels.values()) * LINE_H + 2 * PAD
    centre = {n: (PAD + c * (w + GAP_X) + w / 2, PAD + r * (h + GAP_Y) + h / 2) for n, (c, r) in pos.items()}
    width = PAD * 2 + (max(c for c, _ in pos.values()) + 1) * (w + GAP_X) - GAP_X
    height = PAD * 2 + (max(r for _, r in pos.values()) + 1) * (h + GAP_Y) - GAP_Y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f"<title>{html.escape(title)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>']
    for a, b in edges:
        (x1, y1), (x2, y2) = _clip(centre[a], centre[b], w, h), _clip(centre[b], centre[a], w, h)
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#444" stroke-width="1.5" '
                   'marker-end="url(#arrow)"/>')
    for n, ls in labels.items():
        x, y = centre[n]
        fill = "#FFF4DD" if all(b != n for _, b in edges) else "#ECECFF"  # inputs (blends, raw text) stand out
        out.append(f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
                   f'fill="{fill}" stroke="#9370DB"/>')
        top = y - (len(ls) - 1) * LINE_H / 2
        for i, l in enumerate(ls):
            out.append(f'<text x="{x:.1f}" y="{top + i * LINE_H:.1f}" text-anchor="middle" '
                       f'dominant-baseline="central">{html.escape(l)}</text>')
    return "\n".join(out + ["</svg>"]) + "\n"


def image_path(notebook) -> Path:
    return ROOT / "nbs" / "images" / f"{Path(notebook).stem}_lineage.svg"


def main(argv) -> int:
    stale = []
    for nb in NOTEBOOKS:
        src, dest = mermaid_source(ROOT / nb), image_path(nb)
        want = svg(src, f"lineage of {Path(nb).stem}")
        if "--check" in argv:
            if not dest.is_file() or dest.read_text(encoding="utf-8") != want: stale.append(str(dest.relative_to(ROOT)))
        else: dest.write_text(want, encoding="utf-8")
    for s in stale: print(f"{s}: out of date with its notebook's mermaid source (run python .ci/lineage_svg.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
