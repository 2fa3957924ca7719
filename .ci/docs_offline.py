"""What makes an executed notebook's outputs readable offline, in the docs check's pages and in the Quarto site alike:
plotly figures drawn by a local `plotly.min.js` (relative to the page, loaded by the first figure the page shows),
and widgets (which need a live kernel) replaced by a static HTML picture of their state at the end of the run.
Used by `execute_nbs.py`, so that `_exec` (what `make docs` and `make docscheck` render) carries these outputs."""
import html, shutil
from pathlib import Path

PLOTLY_JSON, WIDGET_VIEW = "application/vnd.plotly.v1+json", "application/vnd.jupyter.widget-view+json"
PLOTLY_JS = "plotly.min.js"  # at the root of the site, copied from the plotly package


def copy_plotly_js(dest_root: Path) -> Path:
    "Copy the plotly.js that the installed plotly ships (`plotly/package_data/plotly.min.js`) to `dest_root`."
    import plotly
    src = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    dest_root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(src, dest_root / PLOTLY_JS))


def figure_html(fig_json: dict, plotly_src: str | None) -> str:
    """A figure's HTML without any CDN: the div that draws it, preceded, when `plotly_src` is given, by a script that
    loads plotly.js from `plotly_src` unless an earlier figure of the page did (so hidden cells cannot lose it)."""
    import plotly.io as pio
    div = pio.to_html(fig_json, include_plotlyjs=False, include_mathjax=False, full_html=False,
                      config={"responsive": True})
    load = (f"<script>window.Plotly || document.write('<script src=\"{plotly_src}\" charset=\"utf-8\"><\\/script>')"
            "</script>\n")
    return (load if plotly_src else "") + div


def _esc(v) -> str: return html.escape(str(v))


def widget_html(w, src: str = PLOTLY_JS) -> str:
    "A static picture of an ipywidget's state: its containers, labels, inputs (disabled) and HTML, as plain HTML."
    name = type(w).__name__
    label = f"<label style='display:inline-block;min-width:9em'>{_esc(w.description)}</label> " \
        if getattr(w, "description", "") and name not in ("Button", "Checkbox") else ""
    if name in ("VBox", "HBox", "Box", "GridBox"):
        d = "column" if name == "VBox" else "row"
        kids = "".join(widget_html(c, src) for c in w.children)
        return f"<div style='display:flex;flex-direction:{d};flex-wrap:wrap;gap:4px 12px'>{kids}</div>"
    if name in ("Accordion", "Tab", "Stack"):
        titles = list(getattr(w, "titles", ()) or ())
        return "".join(f"<details><summary>{_esc(titles[i] if i < len(titles) else '')}</summary>{widget_html(c, src)}"
                       "</details>" for i, c in enumerate(w.children))
    if name in ("HTML", "HTMLMath"): return f"<div>{label}{w.value}</div>"
    if name == "Label": return f"<div>{_esc(w.value)}</div>"
    if name == "Button":
        return f"<button disabled style='margin:2px'>{_esc(w.description)}</button>"
    if name == "Checkbox":
        box = f"<input type='checkbox' disabled{' checked' if w.value else ''}>"
        return f"<div><label>{box} {_esc(w.description)}</label></div>"
    if name == "Textarea":
        return f"<div>{label}<textarea disabled rows='8' style='width:100%'>{_esc(w.value)}</textarea></div>"
    if name == "Output":
        return "".join(_output_html(o, src) for o in w.outputs)
    if hasattr(w, "options") and hasattr(w, "value") and name != "Combobox":  # Dropdown, Select, ...
        labels = list(getattr(w, "_options_labels", None) or [str(o) for o in w.options])
        chosen = getattr(w, "label", None)
        opts = "".join(f"<option{' selected' if l == chosen else ''}>{_esc(l)}</option>" for l in labels)
        return f"<div>{label}<select disabled>{opts}</select></div>"
    if hasattr(w, "value"):  # Text, Combobox, IntText, FloatText, sliders...
        return f"<div>{label}<input disabled value='{_esc(w.value)}' style='min-width:12em'></div>"
    return ""


def _output_html(o: dict, src: str) -> str:
    data = o.get("data", {})
    if o.get("output_type") == "stream": return f"<pre>{_esc(o.get('text', ''))}</pre>"
    if PLOTLY_JSON in data: return figure_html(data[PLOTLY_JSON], src)
    if "text/html" in data: return "".join(data["text/html"])  # a list of lines or one string
    return f"<pre>{_esc(''.join(data.get('text/plain', '')))}</pre>"


def _widget_output(w, src: str) -> dict:
    note = ("<p style='font-size:0.85em;color:#666'><em>A picture of the widget as the notebook left it: open the "
            "notebook in Jupyter to use it.</em></p>")
    body = f"<div class='nemotron-static-widget' style='border:1px solid #ddd;padding:8px'>{widget_html(w, src)}</div>"
    return {"text/html": body + note, "text/plain": f"[{type(w).__name__} widget: open the notebook to use it]"}


def _find_widget(model_id: str):
    try: from ipywidgets.widgets.widget import _instances
    except ImportError: return None
    return _instances.get(model_id)


def offline_outputs(cells, depth: int) -> tuple[int, int]:
    """Rewrite the outputs of executed `cells` in place for a page `depth` folders below the site root: plotly figures
    get HTML drawn by the site's local plotly.js; widgets get a static picture. Returns (figures, widgets)."""
    figs = widgets = 0
    src = "../" * depth + PLOTLY_JS
    for c in cells:
        outs = []
        for o in c.get("outputs", []):
            data = o.get("data")
            if data is not None and not data and o.get("output_type") == "execute_result": continue  # empty result
            if data and PLOTLY_JSON in data:
                data["text/html"] = figure_html(data[PLOTLY_JSON], src)
                figs += 1
            elif data and WIDGET_VIEW in data:
                w = _find_widget(data[WIDGET_VIEW].get("model_id", ""))
                o["data"] = _widget_output(w, src) if w is not None else {
                    "text/plain": "[a widget: open the notebook in Jupyter to use it]"}
                widgets += 1
            outs.append(o)
        if "outputs" in c: c["outputs"] = outs
    return figs, widgets
