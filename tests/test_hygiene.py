"Repository hygiene: notebooks have cell ids, small outputs and no widget state; the package matches the notebooks; importing it is light."
import json, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT, BIN

NOTEBOOKS = sorted(p for p in (ROOT / "nbs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
HEAVY = ("torch", "megatron", "nemo_run", "wandb", "transformer_engine", "mamba_ssm", "causal_conv1d", "transformers",
         "datasets", "plotly", "ipywidgets")
GPU_OR_CLUSTER = ("megatron.bridge", "transformer_engine", "mamba_ssm", "causal_conv1d", "nemo_run", "wandb")

def test_there_are_notebooks():
    assert {"00_config.ipynb", "01_pattern.ipynb", "32_cli.ipynb", "index.ipynb"} <= {p.name for p in NOTEBOOKS}

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_clean(nb):
    d = json.loads(nb.read_text())
    ids = [c.get("id") for c in d["cells"]]
    assert all(ids), f"{nb.name}: cells without ids"
    assert len(set(ids)) == len(ids), f"{nb.name}: duplicate cell ids"
    assert "widgets" not in d.get("metadata", {}), f"{nb.name}: stored widget state"
    for c in d["cells"]:
        assert "widgets" not in c.get("metadata", {}), f"{nb.name}: stored widget state in a cell"
        size = len(json.dumps(c.get("outputs", [])))
        assert size <= 100_000, f"{nb.name}: a stored output of {size:,} bytes (over 100 KB)"

def test_export_in_sync(tmp_path):
    "nbdev_export on a copy of the notebooks reproduces the committed package byte for byte."
    for name in ("settings.ini", "setup.py"): shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "nbs", tmp_path / "nbs", symlinks=True)
    shutil.copytree(ROOT / "nemotron_nb", tmp_path / "nemotron_nb", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (tmp_path / "nemotron_nb" / "__init__.py").write_text((ROOT / "nemotron_nb" / "__init__.py").read_text())
    subprocess.run([str(BIN / "nbdev_export")], cwd=tmp_path, check=True, capture_output=True)
    ours = sorted(p.relative_to(ROOT) for p in (ROOT / "nemotron_nb").rglob("*.py") if "__pycache__" not in p.parts)
    theirs = sorted(p.relative_to(tmp_path) for p in (tmp_path / "nemotron_nb").rglob("*.py") if "__pycache__" not in p.parts)
    assert ours == theirs, f"modules differ: {set(ours) ^ set(theirs)}"
    for rel in ours:
        assert (ROOT / rel).read_text() == (tmp_path / rel).read_text(), f"{rel} is out of sync with its notebook: run nbdev_export"

def _imported_after(code: str) -> set:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))

def test_import_is_light():
    mods = _imported_after("import nemotron_nb, nemotron_nb.config, nemotron_nb.pattern, nemotron_nb.cli")
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert not heavy, f"importing the package pulled in {heavy[:10]}"

def test_no_module_imports_gpu_or_cluster_libraries():
    "Every exported module imports without megatron.bridge, transformer_engine, mamba_ssm, nemo_run or wandb (they are lazy)."
    names = sorted(p.stem for p in (ROOT / "nemotron_nb").glob("*.py") if not p.stem.startswith("_"))
    mods = _imported_after("\n".join(f"import nemotron_nb.{n}" for n in names))
    bad = sorted(m for m in mods if any(m == g or m.startswith(g + ".") for g in GPU_OR_CLUSTER))
    assert not bad, f"eager imports of {bad[:10]}"

def test_sidebar_lists_every_notebook():
    "The docs sidebar (nbs/sidebar.yml) lists every notebook, in reading order, and nothing that does not exist."
    import yaml
    def entries(items):
        for it in items:
            if isinstance(it, str): yield it
            elif isinstance(it, dict): yield from entries(it.get("contents", []))
    listed = list(entries(yaml.safe_load((ROOT / "nbs" / "sidebar.yml").read_text())["website"]["sidebar"]["contents"]))
    have = sorted(str(p.relative_to(ROOT / "nbs")) for p in NOTEBOOKS if not p.name.startswith("_"))
    missing = sorted(set(have) - set(listed))
    assert not missing, f"nbs/sidebar.yml does not list {missing}: add each under its section"
    assert not sorted(set(listed) - set(have)), f"nbs/sidebar.yml lists notebooks that do not exist: {sorted(set(listed) - set(have))}"

def test_readme_is_generated_from_index():
    "README.md is nbs/index.ipynb as markdown (`make readme`), with image paths from the repository root."
    out = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "markdown", "--stdout", "--log-level", "WARN",
                          str(ROOT / "nbs" / "index.ipynb")], capture_output=True, text=True, check=True).stdout
    assert (ROOT / "README.md").read_text() == out.replace("](images/", "](nbs/images/"), "README.md is stale: run `make readme`"
    for img in ("builder.png", "monitor.png", "stage-figures.png"):
        assert (ROOT / "nbs" / "images" / img).stat().st_size > 10_000
