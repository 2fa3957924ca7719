#!/usr/bin/env python
"""Execute notebooks as `nbdev_test` does (same skipped flags: the `tst_flags` not forced, `#| eval: false`) and keep
their outputs, so that the docs are built from executed notebooks with their figures. The notebooks keep their `#|`
directives (nbdev_proc_nbs hides what they hide), and their outputs are made to work offline (`docs_offline`): plotly
figures drawn by the site's own plotly.min.js (copied to DEST), widgets shown as a static picture of their state.

usage: execute_nbs.py SRC_DIR DEST_DIR [--flags "slow"]    (DEST mirrors SRC; files other than notebooks are copied)
"""
import os, shutil, sys, time
from pathlib import Path
from fastcore.basics import str2bool
from nbdev.config import get_config
from nbdev.process import NBProcessor
from nbdev.frontmatter import FrontmatterProc
from execnb.shell import CaptureShell
from execnb.nbio import read_nb, write_nb
from docs_offline import offline_outputs, copy_plotly_js

def execute(src: Path, dest: Path, skip_flags: set, depth: int = 0) -> float:
    nb = NBProcessor(src, procs=FrontmatterProc, process=True).nb  # runs cells without their `#|` lines, as nbdev_test
    directives = {c.get("id"): c.source for c in read_nb(src).cells if c.source.lstrip().startswith("#|")}
    if None in directives: raise SystemExit(f"{src}: a cell with `#|` directives has no id (nbformat 4.5 cells have)")
    def _no_eval(cell):
        if cell.cell_type != "code": return True
        direc = getattr(cell, "directives_", {}) or {}
        if direc.get("eval:", [""])[0].lower() == "false": return True
        return skip_flags & direc.keys()
    start, cwd = time.time(), os.getcwd()
    shell = CaptureShell(src)
    os.chdir(src.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=_no_eval)
    except Exception:
        sys.stderr.write(shell.prettytb(fname=src) + "\n"); raise SystemExit(f"{src}: a cell failed")
    finally: os.chdir(cwd)
    offline_outputs(nb.cells, depth)  # while the widgets are alive, for their static picture
    for c in nb.cells:  # drop nbdev's processing attributes, and give the cells their directives back, before writing
        for k in [k for k in c if k.endswith("_")]: del c[k]
        if c.get("id") in directives: c.source = directives[c["id"]]
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dest)
    return time.time() - start

if __name__ == "__main__":
    src_dir, dest_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    force = set(sys.argv[sys.argv.index("--flags") + 1].split()) if "--flags" in sys.argv else set()
    skip = set(get_config().get("tst_flags", "").split()) - force
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype"  # the figure's JSON; docs_offline adds HTML with no CDN
    os.environ["IN_TEST"] = "1"
    if dest_dir.exists(): shutil.rmtree(dest_dir)
    for p in sorted(src_dir.rglob("*")):
        rel = p.relative_to(src_dir)
        if any(part.startswith((".", "_proc")) or part == "output" for part in rel.parts) or p.is_dir(): continue
        if p.suffix == ".ipynb":
            print(f"{rel}: {execute(p, dest_dir / rel, skip, depth=len(rel.parts) - 1):.0f} s", flush=True)
        else:
            (dest_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dest_dir / rel, follow_symlinks=True)
    copy_plotly_js(dest_dir)
