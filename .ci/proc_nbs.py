#!/usr/bin/env python
"""nbdev_proc_nbs / nbdev_docs on executed notebooks, in one process, with one change to nbdev's `exec_show_docs`: a
test cell that mixes imports with other code (nbdev warns about these: "Found cells containing imports and other code")
has only its imports run by show_doc's kernel, since its other code needs cells that kernel does not run. The cell
itself, with the outputs of its real execution, is left as it is.

usage: proc_nbs.py PATH [--docs]     (--docs: nbdev_docs, the Quarto render; else nbdev_proc_nbs into _proc)
"""
import ast, sys
import warnings
import nbdev.processors as P
warnings.filterwarnings("ignore", "Found cells containing imports and other code")  # handled below

_SHOWN = {"export", "exports", "exporti", "exec_doc"}
_orig_call = P.exec_show_docs.__call__


def _imports_only(cell) -> str | None:
    "The imports of a mixed test cell that nbdev would run whole; None for any other cell."
    if cell.cell_type != "code" or not P._do_eval(cell) or cell.directives_.keys() & _SHOWN: return None
    trees = cell.parsed_()
    if not (P._ast_contains(trees, (ast.Import, ast.ImportFrom)) and P._ast_contains(trees, (ast.Expr, ast.Assign))):
        return None
    return "\n".join(ast.unparse(n) for n in trees if isinstance(n, (ast.Import, ast.ImportFrom)))


def _call(self, cell):
    src = _imports_only(cell) if getattr(self.nb, "has_docs_", False) and hasattr(self, "k") else None
    if src is None: return _orig_call(self, cell)
    self.k.run_cell(src)
    if self.k.exc: raise Exception(f"Error in cell {cell.idx_} (its imports):\n{src}") from self.k.exc


if __name__ == "__main__":
    P.exec_show_docs.__call__ = _call
    path = sys.argv[1]
    if "--docs" in sys.argv:
        from nbdev.quarto import nbdev_docs; nbdev_docs(path=path, n_workers=0)
    else:
        from nbdev.quarto import nbdev_proc_nbs; nbdev_proc_nbs(path=path, n_workers=0)
