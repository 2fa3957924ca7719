"The config builder in a real JupyterLab, in Debian's headless Chromium, through Playwright."
import re
from pathlib import Path
import pytest
from browser import missing, jupyter_lab, browser_page, open_notebook, run_all, wait_idle, write_notebook
from nemotron_nb.config import load_config
from nemotron_nb.estimate import summarize

pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "ok")

def _panel(page) -> str:
    return page.inner_text(".nemotron-panel")

def test_builder_in_jupyterlab(tmp_path):
    write_notebook(tmp_path / "builder.ipynb", [
        "from nemotron_nb.widgets import ConfigBuilder",
        "cb = ConfigBuilder('nano3', 'default')\ncb"])
    with jupyter_lab(tmp_path, tmp_path / "jupyter.log") as (base, token), browser_page() as page:
        open_notebook(page, base, token, "builder.ipynb")
        run_all(page); wait_idle(page, 120_000)
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
        assert "expert_model_parallel_size: 16" in out and "train_iters: 993404" in out
        page.screenshot(path=str(tmp_path / "builder-super3-dry-run.png"), full_page=True)
    assert (tmp_path / "builder-super3-dry-run.png").stat().st_size > 10_000
