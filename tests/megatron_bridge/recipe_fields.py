"""What a Megatron-Bridge recipe function sets, read from its source: `cfg.<section>.<field> = <value>` and
`cfg.<field> = <value>` lines with a plain value (a literal or `torch.<dtype>`), and the keyword arguments of a section
built in place (`cfg.model = Nemotron3NanoProvider(tensor_model_parallel_size=4, ...)`), in source order."""
import ast

def _value(node):
    import torch
    return eval(compile(ast.Expression(node), "<recipe>", "eval"), {"torch": torch})

def recipe_assignments(source: str, function: str) -> dict:
    "{'section.field' or 'field': value} that `function` in the module text `source` sets; later lines win."
    fn = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == function)
    out = {}
    for node in sorted((n for n in ast.walk(fn) if isinstance(n, ast.Assign)), key=lambda n: n.lineno):
        names, t = [], node.targets[0]
        while isinstance(t, ast.Attribute): names.insert(0, t.attr); t = t.value
        if len(node.targets) != 1 or not (isinstance(t, ast.Name) and t.id == "cfg") or not 1 <= len(names) <= 2:
            continue
        if len(names) == 1 and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):  # built here
            for kw in node.value.keywords:
                try: out[f"{names[0]}.{kw.arg}"] = _value(kw.value)
                except Exception: pass
            continue
        try: out[".".join(names)] = _value(node.value)
        except Exception: pass  # not a plain value (a provider from the hub)
    return out
