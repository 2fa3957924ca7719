"""The docs lint (.ci/docs_lint.py) fails a seeded bad page on each defect and passes clean pages; the docs rendering
(.ci/render_html.py, .ci/docs_offline.py) turns a small executed notebook into a page that the lint passes."""
import importlib.util, json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(ROOT / ".ci"))  # docs_offline is imported by name from execute_nbs.py


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / ".ci" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


lint = _load("docs_lint")
BAD, GOOD = FIX / "bad_page" / "index.html", FIX / "good_page" / "index.html"


def test_each_defect_fails_the_bad_page():
    html = BAD.read_text()
    assert lint.network_scripts(html) == [
        "script loaded from the network: https://cdn.plot.ly/plotly-3.0.1.min.js",
        "script imports from the network: https://cdn.example.org/mermaid.esm.min.mjs"]
    assert len(lint.raw_math(html)) == 1 and "$$S_t = e^{\\Delta_t A}" in lint.raw_math(html)[0]
    assert lint.widget_reprs(html) == [
        "widget repr in the page: VBox(children=(HBox(children=(Dropdown(description='mo"]
    assert lint.list_outputs(html) == ["output shown as a list of lines: ['max |chunked - sequential| = 3.58e-07\\n', 'done\\"]
    assert lint.missing_images(html, BAD) == ["missing image: images/builder.png",
                                              "image not next to the page: 'https://example.org/remote.png'"]
    assert lint.missing_scripts(html, BAD) == ["missing script: plotly.min.js"]
    assert len(lint.lint([BAD.parent])[str(BAD)]) == 8


def test_clean_pages_pass():
    html = GOOD.read_text()
    for check in (lint.network_scripts, lint.raw_math, lint.widget_reprs, lint.list_outputs): assert check(html) == []
    assert lint.missing_images(html, GOOD) == [] and lint.missing_scripts(html, GOOD) == []
    assert lint.lint([FIX / "good_page"]) == {}  # index.html and stages/page.html, whose links go one folder up


def test_the_command_line_exit_status(capsys):
    import subprocess
    run = lambda p: subprocess.run([sys.executable, str(ROOT / ".ci" / "docs_lint.py"), str(p)], capture_output=True,
                                   text=True)
    bad, good = run(BAD), run(FIX / "good_page")
    assert (bad.returncode, len(bad.stdout.splitlines()), good.returncode, good.stdout) == (1, 8, 0, "")


def test_tex_becomes_mathml_outside_code():
    pytest.importorskip("latex2mathml")
    render = _load("render_html")
    md = render.tex_to_mathml("Let $t$ be a step and $$c = \\tfrac12(1 + \\cos \\pi r)$$ the shape; `echo $HOME $$`")
    mathml = '<math xmlns="http://www.w3.org/1998/Math/MathML"'
    assert md.startswith(f'Let {mathml} display="inline"><mrow><mi>t</mi></mrow></math>')
    assert f'{mathml} display="block">' in md and "$t$" not in md
    assert md.endswith("`echo $HOME $$`")


def _proc_notebook(fig_html: dict, widget_data: dict) -> dict:
    "A small notebook as nbdev_proc_nbs leaves it: front matter, a hidden-input cell, an excluded cell, math, outputs."
    def code(src, outputs=()): return {"cell_type": "code", "id": f"c{len(src):07x}", "metadata": {}, "source": src,
                                       "outputs": list(outputs), "execution_count": None}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"widgets": {"state": {}}}, "cells": [
        {"cell_type": "raw", "id": "frontmat", "metadata": {},
         "source": "---\ntitle: Learning-rate schedules\ndescription: Warmup.\n---"},
        {"cell_type": "markdown", "id": "mathcell", "metadata": {},
         "source": "The peak $\\eta_{max}$ and $$y = S_t C_t$$\n\n![the builder](images/builder.png)"},
        code("#| echo: false\nprint('secret input')", [{"output_type": "stream", "name": "stdout", "text": "shown\n"}]),
        code("#| include: false\nhidden_cell = 1"),
        code("fig", [{"output_type": "display_data", "metadata": {}, "data": fig_html}]),
        code("builder", [{"output_type": "display_data", "metadata": {}, "data": widget_data},
                         {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {}}])]}


def test_a_rendered_notebook_is_offline_and_lint_clean(tmp_path):
    pytest.importorskip("latex2mathml"); pytest.importorskip("ipywidgets"); pytest.importorskip("plotly")
    import ipywidgets as W, plotly.graph_objects as go
    offline, render = _load("docs_offline"), _load("render_html")
    w = W.VBox([W.Dropdown(options=["nano3", "super3"], value="super3", description="model"),
                W.IntText(value=3072, description="global batch"), W.Button(description="Dry run")])
    fig = go.Figure(go.Bar(y=[1, 2])).to_plotly_json()
    cells = [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {offline.PLOTLY_JSON: fig}}]},
             {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {
                 offline.WIDGET_VIEW: {"model_id": w.model_id}, "text/plain": repr(w)}},
                 {"output_type": "execute_result", "data": {}}]}]
    assert offline.offline_outputs(cells, depth=1) == (1, 1)
    fig_html, widget_data = cells[0]["outputs"][0]["data"], cells[1]["outputs"][0]["data"]
    assert "document.write('<script src=\"../plotly.min.js\"" in fig_html["text/html"]
    assert offline.WIDGET_VIEW not in widget_data and len(cells[1]["outputs"]) == 1  # the empty result is dropped
    assert "<option selected>super3</option>" in widget_data["text/html"] and "value='3072'" in widget_data["text/html"]

    proc = tmp_path / "_proc"
    (proc / "stages").mkdir(parents=True); (proc / "images").mkdir()
    (proc / "images" / "builder.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    offline.copy_plotly_js(proc)
    nb = _proc_notebook(fig_html, widget_data)
    nb["cells"][1]["source"] = nb["cells"][1]["source"].replace("(images/", "(../images/")
    (proc / "stages" / "page.ipynb").write_text(json.dumps(nb))
    pages = render.render(proc, proc / "_html")
    assert [p.relative_to(proc) for p in pages] == [Path("_html/stages/page.html")]
    html = pages[0].read_text()
    assert "<title>Learning-rate schedules</title>" in html and "<h1" in html and "title: Learning" not in html
    assert "secret input" not in html and "shown" in html and "hidden_cell" not in html and "#|" not in html
    assert lint.lint([proc / "_html"]) == {}
    (proc / "_html" / "images" / "builder.png").unlink()  # and the lint notices what is not there
    assert lint.lint([proc / "_html"]) == {str(pages[0]): ["missing image: ../images/builder.png"]}
