"The config builder in a real JupyterLab, in Debian's headless Chromium, through Playwright."
import json, os, re, shutil
from pathlib import Path
import pytest
from browser import missing, jupyter_lab, browser_page, open_notebook, run_all, wait_idle, wait_ran, write_notebook, kill_processes_in, dismiss_dialogs, restart_kernel
from nemotron_nb.recipe import load_config
from nemotron_nb.estimate import summarize

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "ok")

def _panel(page) -> str:
    return page.inner_text(".nemotron-panel")

def test_builder_in_jupyterlab(tmp_path):
    write_notebook(tmp_path / "builder.ipynb", [
        "from nemotron_nb.widgets import ConfigBuilder",
        "cb = ConfigBuilder('nano3', 'default')\ncb"])
    with jupyter_lab(tmp_path, tmp_path / "jupyter.log") as (base, token), browser_page() as page:
        open_notebook(page, base, token, "builder.ipynb")
        run_all(page); wait_idle(page, 300_000)
        page.wait_for_selector(".nemotron-panel", timeout=60_000)
        assert "31,577,937,344 total" in _panel(page)          # nano3: the pattern math
        page.screenshot(path=str(tmp_path / "builder-nano3.png"), full_page=True)

        page.select_option(".nemotron-model select", "super3")
        page.wait_for_function("() => document.querySelector('.nemotron-panel').innerText.includes('120,668,687,360 total')", timeout=30_000)
        assert "+2,942,324,736 MTP" in _panel(page)

        box = page.locator(".nemotron-model-expert-model-parallel-size input")
        box.fill("16"); box.press("Enter")
        expect = summarize(load_config("super3", "default", ["model.expert_model_parallel_size=16"]))
        text = f"{expect['memory_per_gpu_gib']:.1f} GiB on 32 GPU(s)"
        page.wait_for_function(f"() => document.querySelector('.nemotron-panel').innerText.includes({text!r})", timeout=30_000)
        assert page.input_value(".nemotron-command input") == "nemotron super3 pretrain model.expert_model_parallel_size=16"

        page.click(".nemotron-dry-run")
        page.wait_for_function("() => document.querySelector('.nemotron-output').innerText.includes('nothing written')", timeout=30_000)
        out = page.inner_text(".nemotron-output")
        assert "expert_model_parallel_size: 16" in out and "train_iters: 794723" in out
        page.screenshot(path=str(tmp_path / "builder-super3-dry-run.png"), full_page=True)
    assert (tmp_path / "builder-super3-dry-run.png").stat().st_size > 10_000


def _run_cell(page, text: str):
    "Select the first code cell whose source contains `text` and run it (command mode, Shift+Enter)."
    cell = page.locator(".jp-CodeCell", has_text=text).first
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape"); page.keyboard.press("Shift+Enter")

def _menu(page, menu: str, item: str):
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")

def _shot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("NEMOTRON_SCREENSHOTS"):  # `make screenshots` keeps them for the README
        shutil.copy(path, Path(os.environ["NEMOTRON_SCREENSHOTS"]) / name)
    return path

def test_stage_notebook_builder_dry_run_and_submit(tmp_path):
    "The nano3 stage notebook: data and model cells, the builder (model, field, panel, dry run), a tiny run submitted to the local profile and followed live."
    shutil.copy(ROOT / "nbs" / "stages" / "nano3_stage0_pretrain.ipynb", tmp_path / "stage.ipynb")
    (tmp_path / "env.toml").write_text('[local]\nexecutor = "local"\n')  # the profile the tiny run is submitted with
    with jupyter_lab(tmp_path, tmp_path / "jupyter.log") as (base, token), browser_page(1400, 1100) as page:
        open_notebook(page, base, token, "stage.ipynb")
        code = [c for c in json.loads((tmp_path / "stage.ipynb").read_text())["cells"] if c["cell_type"] == "code"]
        above = next(i for i, c in enumerate(code) if "ConfigBuilder(" in "".join(c["source"]))
        started = ("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                   ".some(p => p.textContent.includes('[*]') || /\\[\\d+\\]/.test(p.textContent))")
        def run_above():
            for _ in range(4):  # now and then the first menu click does nothing: click again until a cell starts
                dismiss_dialogs(page)  # e.g. a kernel connection notice that JupyterLab shows while the kernel starts
                page.locator(".jp-CodeCell").nth(above).locator(".jp-InputPrompt").click()
                _menu(page, "Run", "Run All Above Selected Cell")   # setup, data prep (tiny), the blend and layer-map figures
                try: page.wait_for_function(started, timeout=10_000); break
                except Exception: dismiss_dialogs(page)
        run_above()
        wait_ran(page, above, 480_000, rerun=lambda: (restart_kernel(page), run_above()))
        assert page.locator(".jp-OutputArea .js-plotly-plot").count() >= 4   # raw blend, blend, throughput, layer maps
        page.locator(".jp-OutputArea .js-plotly-plot").nth(1).scroll_into_view_if_needed()
        _shot(page, tmp_path, "stage-figures.png")
        _run_cell(page, "ConfigBuilder(")
        wait_ran(page, above + 1, 60_000)
        page.wait_for_selector(".nemotron-panel", timeout=60_000)
        assert "31,577,937,344 total" in _panel(page)
        assert "['\\r'" not in page.locator(".jp-CodeCell").nth(above).inner_text()  # no stray output with the builder

        page.select_option(".nemotron-model select", "super3")
        page.wait_for_function("() => document.querySelector('.nemotron-panel').innerText.includes('120,668,687,360 total')", timeout=30_000)
        box = page.locator(".nemotron-model-expert-model-parallel-size input")
        box.fill("16"); box.press("Enter")
        expect = summarize(load_config("super3", "default", ["model.expert_model_parallel_size=16"]))
        text = f"{expect['memory_per_gpu_gib']:.1f} GiB on 32 GPU(s)"
        page.wait_for_function(f"() => document.querySelector('.nemotron-panel').innerText.includes({text!r})", timeout=30_000)
        page.click(".nemotron-dry-run")
        page.wait_for_function("() => document.querySelector('.nemotron-output').innerText.includes('nothing written')", timeout=30_000)
        assert "expert_model_parallel_size: 16" in page.inner_text(".nemotron-output")
        page.locator(".nemotron-panel").scroll_into_view_if_needed()
        _shot(page, tmp_path, "builder.png")

        # back to the tiny nano3, submitted locally and followed live
        page.select_option(".nemotron-model select", "nano3")
        cfg_box = page.locator(".nemotron-config input")
        cfg_box.fill("tiny"); cfg_box.press("Enter")
        page.wait_for_function("() => document.querySelector('.nemotron-command input').value === 'nemotron nano3 pretrain -c tiny'", timeout=30_000)
        page.select_option(".nemotron-profile select", label="local")
        page.click(".nemotron-submit")
        page.wait_for_function("() => document.querySelector('.nemotron-output').innerText.includes('--batch local')", timeout=30_000)
        page.wait_for_function("() => { const p = document.querySelector('.nemotron-monitor .js-plotly-plot');"
                               " return p && p.data && p.data[0].x.length >= 2; }", timeout=240_000)
        points = page.evaluate("() => document.querySelector('.nemotron-monitor .js-plotly-plot').data[0].x.length")
        page.locator(".nemotron-monitor").scroll_into_view_if_needed()
        _shot(page, tmp_path, "monitor.png")
        page.click(".nemotron-stop")
    kill_processes_in(tmp_path)  # the job the local profile started (Stop ends the submitting process, not the job)
    assert points >= 2
    metrics = (tmp_path / "output" / "checkpoints" / "nano3-pretrain-model-tiny" / "metrics.jsonl").read_text().splitlines()
    assert len([l for l in metrics if '"split"' not in l]) >= 2


def _field(page, key: str):
    "The input of a builder field (its classes are `nemotron-<key with dashes>`)."
    return page.locator(f".nemotron-{key.replace('.', '-').replace('_', '-')} input")

def _set_field(page, key: str, value):
    box = _field(page, key); box.fill(str(value)); box.press("Enter")

def _wait_text(page, selector: str, text: str, present: bool = True, timeout: int = 30_000):
    page.wait_for_function("([s, t, p]) => { const e = document.querySelector(s);"
                           " return e && e.innerText.includes(t) === p; }", arg=[selector, text, present], timeout=timeout)

def test_builder_memory_check_and_field_errors(tmp_path):
    "super3 phase 1 on 4 nodes of H100: a red memory line with the smallest change; a layout Megatron refuses disables Dry run with its reason beside the field; applied whole, the change fits."
    write_notebook(tmp_path / "builder.ipynb", ["from nemotron_nb.widgets import ConfigBuilder",
                                                "ConfigBuilder('super3', 'phase1')"])
    with jupyter_lab(tmp_path, tmp_path / "jupyter.log") as (base, token), browser_page() as page:
        open_notebook(page, base, token, "builder.ipynb")
        run_all(page); wait_idle(page, 300_000)
        page.wait_for_selector(".nemotron-panel", timeout=60_000)
        fits = page.inner_text(".nemotron-fits")
        assert "179.6 GiB per GPU on 32 × H100 does not fit (68 of 80 GiB usable)" in fits, fits
        assert page.eval_on_selector(".nemotron-fits span", "e => getComputedStyle(e).color") == "rgb(198, 40, 40)"
        assert "recompute none" in page.inner_text(".nemotron-assumed")
        assert "794,723 iterations" in page.inner_text(".nemotron-time") and "e+" not in _panel(page)
        profile = page.eval_on_selector(".nemotron-profile select", "s => s.options[s.selectedIndex].text")
        assert profile.replace("\xa0", " ") == "this machine"
        change = dict(o.split("=") for o in re.search(r"fits with (.*) \(", fits).group(1).split())
        assert change == {"run.env.nodes": "8", "model.expert_model_parallel_size": "64",
                          "model.tensor_model_parallel_size": "8"}
        assert page.locator(".nemotron-dry-run").is_enabled() and page.locator(".nemotron-submit").is_enabled()

        # the change field by field, EP first: EP 64 on 32 GPUs is a layout Megatron refuses
        _set_field(page, "model.expert_model_parallel_size", 64)
        error = ".nemotron-model-expert-model-parallel-size + .nemotron-error"
        _wait_text(page, error, "32 GPUs are not a multiple of EP×ETP×PP = 64×1×1")
        assert page.locator(".nemotron-dry-run").is_disabled() and page.locator(".nemotron-submit").is_disabled()
        _shot(page, tmp_path, "builder-field-error.png")
        _set_field(page, "run.env.nodes", 8)
        page.wait_for_selector(".nemotron-dry-run:not([disabled])", timeout=30_000)
        assert page.inner_text(error) == ""
        _set_field(page, "model.tensor_model_parallel_size", 8)
        _wait_text(page, ".nemotron-fits", "does not fit", present=False)
        fits = page.inner_text(".nemotron-fits")
        assert "on 64 × H100 fits (68 of 80 GiB usable)" in fits, fits
        assert page.query_selector(".nemotron-fits span") is None  # no red
        page.click(".nemotron-dry-run")
        _wait_text(page, ".nemotron-output", "nothing written")
        out = page.inner_text(".nemotron-output")
        assert "tensor_model_parallel_size: 8" in out and "expert_model_parallel_size: 64" in out
        _set_field(page, "train.train_iters", 10)  # the dry run was for other values: cleared
        page.wait_for_function("() => document.querySelector('.nemotron-output').innerText.trim() === ''",
                               timeout=30_000)
        assert "['\\r'" not in page.inner_text(".jp-Notebook")  # no stray output around the builder
