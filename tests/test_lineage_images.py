"""The stage notebooks' lineage pictures (nbs/images/*_lineage.svg) are drawn from the mermaid source each notebook keeps
in a comment (.ci/lineage_svg.py), so a picture cannot drift from its source; the notebook shows the picture, not a
mermaid block that JupyterLab and the offline docs would show as code."""
import importlib.util, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lineage_svg", ROOT / ".ci" / "lineage_svg.py")
lineage = importlib.util.module_from_spec(spec); spec.loader.exec_module(lineage)


def test_pictures_match_their_mermaid_source():
    assert lineage.main(["--check"]) == 0


def test_notebooks_show_the_picture_not_a_mermaid_block():
    for nb in lineage.NOTEBOOKS:
        md = "".join("".join(c["source"]) for c in json.loads((ROOT / nb).read_text())["cells"]
                     if c["cell_type"] == "markdown")
        assert "```{mermaid}" not in md and f"](../images/{Path(nb).stem}_lineage.svg)" in md, nb


def test_layout_of_the_super3_chain():
    labels, edges = lineage.parse(lineage.mermaid_source(ROOT / lineage.NOTEBOOKS[1]))
    pos = lineage.layout(labels, edges)
    assert [n for n, (c, r) in sorted(pos.items(), key=lambda kv: kv[1]) if r == 0] == ["p1d", "p1", "p2", "lc1", "lc2"]
    assert (pos["p2d"], pos["lcd"]) == ((2, 1), (3, 1))  # each blend under the first phase it feeds
    assert labels["lc1"] == ["long context 1M", "-c long_context_1m"]
    svg = (ROOT / "nbs" / "images" / "super3_stage0_pretrain_lineage.svg").read_text()
    assert len(re.findall(r"<rect ", svg)) == 7 and len(re.findall(r"<line ", svg)) == 7
