"""The tree's layers: each package imports only its own layer and those below it.

    engine, backend (0)  <  bounds, critics, data (1)  <  estimator (2)  <  tools (3)
        <  minimi (4)

Every import statement of every module is read, those inside functions included, so
that a convenience import from a layer above (a plot in the engine, the command line
in the estimator) fails here, naming the file and the line."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RANKS = {"minimi.engine": 0, "minimi.backend": 0, "minimi.bounds": 1, "minimi.critics": 1, "minimi.data": 1,
         "minimi.estimator": 2, "minimi.tools": 3, "minimi": 4}


def rank(module):
    """The layer of a minimi module: its longest prefix in RANKS."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in RANKS:
            return ".".join(parts[:n]), RANKS[".".join(parts[:n])]
    raise AssertionError(f"{module}: in no layer of tests/packaging/test_layers.py")


def modules():
    """(module name, path, is a package) for every .py file under minimi/."""
    for folder, _, files in os.walk(os.path.join(ROOT, "minimi")):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                package = name == "__init__.py"
                yield (dotted[:-len(".__init__")] if package else dotted), path, package


def imports(module, path, package):
    """(line, imported minimi module) for each import in the file, relative ones resolved."""
    here = module if package else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here.split(".")[:len(here.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # `from .. import bounds` imports the module minimi.bounds; the version string
            # is the one name of the top package that anything may read
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names if (base, a.name) != ("minimi", "__version__")]
        else:
            continue
        for name in names:
            if name == "minimi" or name.startswith("minimi."):
                yield node.lineno, name


MODULES = {name for name, _, _ in modules()}


@pytest.mark.parametrize("module, path, package", list(modules()),
                         ids=lambda v: v if isinstance(v, str) and "/" not in v else "")
def test_no_module_imports_a_layer_above_its_own(module, path, package):
    layer, own = rank(module)
    for line, imported in imports(module, path, package):
        other, theirs = rank(imported)
        assert theirs <= own, (f"{os.path.relpath(path, ROOT)}:{line} imports {imported} "
                               f"({other}, layer {theirs}) from {layer} (layer {own})")


def test_the_layer_test_sees_a_planted_upward_import(tmp_path):
    """A relative import from the engine up into the tools is resolved and refused."""
    planted = tmp_path / "optim.py"
    planted.write_text("def plot():\n    from ..tools.plot import Figure\n")
    found = list(imports("minimi.engine.optim", str(planted), False))
    assert found == [(2, "minimi.tools.plot")]
    assert rank(found[0][1])[1] > rank("minimi.engine.optim")[1]
