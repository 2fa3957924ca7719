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

# The package's import graph, in notebook order: parsed with `ast`, imports inside functions counted too (the lazy imports
# of heavy optional packages are not nemotron_nb's, so they are no edges here).
import ast, re

def internal_imports(source: str, package: str = "nemotron_nb") -> set[str]:
    "The modules of `package` that the module `source` imports anywhere in it (`from .x import`, `import package.x`, `from package import x`)."
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith(package + ".")}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1 or mod.split(".")[0] == package:
                rel = mod if node.level == 1 else mod.partition(".")[2]
                out |= {rel.split(".")[0]} if rel else {a.name for a in node.names}  # `from . import x`: x is a module
    return out

def import_graph(pkg_dir: Path, package: str = "nemotron_nb") -> dict[str, set[str]]:
    "Module -> the modules of the same package it imports (generated files such as `_modidx` left out)."
    mods = {p.stem: p for p in pkg_dir.glob("*.py") if not p.stem.startswith("_")}
    return {m: internal_imports(p.read_text(), package) & set(mods) - {m} for m, p in mods.items()}

def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    "One import cycle of `graph` as a path `a -> b -> ... -> a`, or [] when there is none."
    state, stack = {}, []
    def visit(m):
        state[m] = "open"; stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open": return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)): return found
        state[m] = "done"; stack.pop(); return []
    for m in sorted(graph):
        if m not in state and (found := visit(m)): return found
    return []

def notebook_of(module_path: Path) -> str:
    "The notebook a generated module comes from (its `File to edit:` line), relative to nbs/."
    return re.search(r"File to edit: \.\./nbs/(\S+?)\.", module_path.read_text()).group(1) + ".ipynb"

def test_import_graph_helpers_on_a_small_package(tmp_path):
    "The checks below catch what they are for: a cycle through an import inside a function, in a package of two modules."
    (tmp_path / "a.py").write_text("import os\nfrom .b import f\n")
    (tmp_path / "b.py").write_text("import torch\ndef f():\n    from nemotron_nb.a import g\n    import nemotron_nb.a\n")
    graph = import_graph(tmp_path)
    assert graph == {"a": {"b"}, "b": {"a"}}
    assert find_cycle(graph) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
    assert internal_imports("from nemotron_nb import recipe, pattern\nfrom . import cli\nfrom .config import X") == {"recipe", "pattern", "cli", "config"}

def test_import_graph_has_no_cycle():
    "No module of the package imports itself back, counting the imports inside functions."
    graph = import_graph(ROOT / "nemotron_nb")
    assert "pattern" in graph["recipe"] and "recipe" not in graph["pattern"]  # the recipe loader needs the pattern rules, not back
    assert find_cycle(graph) == [], "import cycle: " + " -> ".join(find_cycle(graph))

def test_internal_imports_go_to_earlier_notebooks():
    "Each module imports only modules of notebooks before its own (notebook order is file-name order: 01_ < 01a_ < 01b_ < 02_)."
    pkg = ROOT / "nemotron_nb"
    order = {m: notebook_of(pkg / f"{m}.py") for m in import_graph(pkg)}
    later = sorted(f"{m} ({order[m]}) imports {n} ({order[n]})" for m, deps in import_graph(pkg).items() for n in deps
                   if order[n] >= order[m])
    assert not later, "imports of a later notebook's module: " + "; ".join(later)
