"""IMPORT-ONLY STAND-IN for NVIDIA Transformer Engine (not the real package; nothing here computes anything).

Megatron-Bridge 0.3.1 imports `transformer_engine` unconditionally, and Transformer Engine cannot be installed on a
machine without CUDA. This stand-in lets `megatron.bridge` import so that its config classes can be built and
serialised on a CPU; any attempt to *use* a Transformer Engine object raises."""
import importlib.abc, importlib.machinery, sys, types

__version__ = "0.0.0+import.only.standin"
IMPORT_ONLY_STANDIN = True

class _Meta(type):
    "Attribute chains like `te.common.recipe.DelayedScaling` resolve to more placeholders."
    def __getattr__(cls, name):
        if name.startswith("__"): raise AttributeError(name)
        return _Meta(name, (_Placeholder,), {"__module__": cls.__module__})

class _Placeholder(metaclass=_Meta):
    "Any Transformer Engine class or function: importable, subclassable, never usable."
    def __init__(self, *a, **k): raise RuntimeError("transformer_engine here is an import-only stand-in: it cannot run")
    def __init_subclass__(cls, **k): pass

def _getattr(modname):
    def __getattr__(name):
        if name.startswith("__"): raise AttributeError(name)
        return _Meta(name, (_Placeholder,), {"__module__": modname})
    return __getattr__

class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith("transformer_engine."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
    def create_module(self, spec):
        m = types.ModuleType(spec.name); m.__path__ = []; m.__getattr__ = _getattr(spec.name)
        m.IMPORT_ONLY_STANDIN = True; return m
    def exec_module(self, module): pass

sys.meta_path.insert(0, _Finder())
__getattr__ = _getattr(__name__)
