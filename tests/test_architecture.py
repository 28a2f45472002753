"""The package's shape: no import cycles, the layer rules of DESIGN.md, short files.

Every module under ``sktfm/`` is parsed with :mod:`ast`, never imported, and
every import statement counts, wherever it is: module level, inside a function
or method, under ``if TYPE_CHECKING:``. Relative imports are resolved to module
names; ``from pkg import name`` imports the submodule ``pkg.name`` when
``pkg/name.py`` or ``pkg/name/`` exists, and ``pkg`` (its ``__init__``) otherwise.
"""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = "sktfm"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
MAX_LINES = 450


# --------------------------------------------------------------------------- graph


def module_files(root):
    """{module name: path} of every ``.py`` file under the package folder ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_package(module, modules):
    return modules[module].name == "__init__.py"


def _imported_names(module, tree, modules):
    """Absolute dotted names of everything ``tree`` (the module ``module``) imports."""
    package = module.split(".") if _is_package(module, modules) else module.split(".")[:-1]
    names = set()
    for node in ast.walk(tree):  # every statement, nested ones included
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 >= len(package):
                    raise ValueError(f"{module}: relative import above the top-level package.")
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                names.add(submodule if submodule in modules else source)
    return names


def _owner(name, modules):
    """The module that importing ``name`` runs: ``name`` or its longest known prefix."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or None


def all_imports(root):
    """{module: set of absolute names it imports}, third-party ones included."""
    modules = module_files(root)
    return {
        module: _imported_names(module, ast.parse(path.read_text(), str(path)), modules)
        for module, path in modules.items()
    }


def import_graph(root):
    """{module: set of the package's own modules it imports}."""
    modules = module_files(root)
    graph = {}
    for module, names in all_imports(root).items():
        own = (
            _owner(name, modules)
            for name in names
            if name == root.name or name.startswith(root.name + ".")
        )
        graph[module] = {target for target in own if target}
    return graph


def _is_own_package(module, target):
    """True when ``target`` is a package that contains ``module`` (or is ``module`` itself)."""
    return module == target or module.startswith(target + ".")


def find_cycles(graph, modules):
    """Import cycles, each a list ``[m0, m1, ..., m0]`` starting at its smallest name.

    For each module on a cycle (in a strongly connected component of more than
    one module, or importing itself), the shortest cycle through it; duplicates
    dropped. An edge from a module to its own package's ``__init__`` (or any
    ancestor's) does not count.
    """
    edges = {
        module: {t for t in targets if not (_is_package(t, modules) and _is_own_package(module, t))}
        for module, targets in graph.items()
    }
    cycles = set()
    for component in _strongly_connected_components(edges):
        for start in component:
            if len(component) > 1 or start in edges[start]:
                cycle = _cycle_through(start, component, edges)[:-1]
                first = cycle.index(min(cycle))
                cycle = cycle[first:] + cycle[:first]
                cycles.add(tuple(cycle + cycle[:1]))
    return sorted(list(cycle) for cycle in cycles)


def _strongly_connected_components(edges):
    """Tarjan's algorithm: a list of sets of nodes."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def _cycle_through(start, component, edges):
    """A shortest path ``start -> ... -> start`` inside ``component`` (breadth-first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(edges[node] & component):
            if succ == start:
                return paths[node] + [start]
            if succ not in paths:
                paths[succ] = paths[node] + [succ]
                queue.append(succ)
    raise AssertionError(f"{start} lies on no cycle of {component}")


def _format_cycles(cycles):
    return "\n".join("  " + " -> ".join(cycle) for cycle in cycles)


# ------------------------------------------------------------ self-test of the checker


def _fake_package(tmp_path, files):
    root = tmp_path / "pkg"
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_the_checker_resolves_every_kind_of_import(tmp_path):
    root = _fake_package(
        tmp_path,
        {
            "__init__.py": "from .estimators import Model\n",
            "io.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from .text import Tokenizer\n"
                "def load():\n"
                "    from . import estimators\n"
                "    import pkg.nn.bert\n"
            ),
            "nn/__init__.py": "from .bert import f\nfrom . import helpers\n",
            "nn/bert.py": "import torch\nfrom .. import io\nfrom ..text import Tokenizer\n",
            "nn/helpers/__init__.py": "",
            "text/__init__.py": "class Tokenizer: pass\n",
            "estimators/__init__.py": "from .model import Model\n",
            "estimators/model.py": (
                "from sklearn.base import BaseEstimator\n"
                "class Model(BaseEstimator):\n"
                "    def save(self):\n"
                "        from ..io import save\n"
                "        from ..nn.bert import f\n"
            ),
        },
    )
    assert import_graph(root) == {
        "pkg": {"pkg.estimators"},
        "pkg.io": {"pkg.text", "pkg.estimators", "pkg.nn.bert"},
        "pkg.nn": {"pkg.nn.bert", "pkg.nn.helpers"},
        "pkg.nn.bert": {"pkg.io", "pkg.text"},
        "pkg.nn.helpers": set(),
        "pkg.text": set(),
        "pkg.estimators": {"pkg.estimators.model"},
        "pkg.estimators.model": {"pkg.io", "pkg.nn.bert"},
    }
    assert all_imports(root)["pkg.nn.bert"] >= {"torch"}
    assert all_imports(root)["pkg.estimators.model"] >= {"sklearn.base"}


def test_the_checker_finds_a_cycle_made_by_an_import_inside_a_function(tmp_path):
    root = _fake_package(
        tmp_path,
        {
            "__init__.py": "from .a import A\n",
            # The second line imports the package's own __init__: excepted.
            "a.py": "from .b import B\nfrom . import A\n",
            "b.py": "def make():\n    from .a import A\n    return A\n",
            "c.py": "from . import c\n",  # a module importing itself
            "sub/__init__.py": "from . import d\n",
            "sub/d.py": "from .. import sub\n",  # its own package's __init__: excepted
        },
    )
    cycles = find_cycles(import_graph(root), module_files(root))
    assert cycles == [["pkg.a", "pkg.b", "pkg.a"], ["pkg.c", "pkg.c"]]
    assert "pkg.a -> pkg.b -> pkg.a" in _format_cycles(cycles)


# ------------------------------------------------------------------ the real package


@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT)


@pytest.fixture(scope="module")
def imports():
    return all_imports(ROOT)


def _in(module, package):
    return module == package or module.startswith(package + ".")


def test_no_import_cycles(graph):
    cycles = find_cycles(graph, module_files(ROOT))
    assert not cycles, (
        f"{len(cycles)} import cycle(s) among sktfm modules (imports inside functions "
        f"count; importing one's own package __init__ does not):\n{_format_cycles(cycles)}"
    )


def test_nn_is_pure_pytorch(graph, imports):
    bad = {}
    for module in graph:
        if _in(module, "sktfm.nn"):
            third_party = {
                n for n in imports[module] if n.split(".")[0] in ("sklearn", "skorch", "pandas")
            }
            outside = {t for t in graph[module] if not _in(t, "sktfm.nn")}
            if third_party | outside:
                bad[module] = sorted(third_party | outside)
    assert not bad, f"sktfm.nn must import torch only (DESIGN.md, layer 'core'): {bad}"


def test_io_does_not_import_estimators_or_text(graph):
    if "sktfm.io" not in graph:
        pytest.fail("sktfm/io.py does not exist")
    bad = sorted(t for t in graph["sktfm.io"] if _in(t, "sktfm.estimators") or _in(t, "sktfm.text"))
    assert not bad, (
        f"sktfm.io imports {bad}; it must import nothing from sktfm.estimators or sktfm.text"
    )


def test_persistence_is_a_bottom_layer(graph):
    # sktfm.persistence: one module, or a package whose modules import only each other.
    layer = sorted(m for m in graph if _in(m, "sktfm.persistence"))
    if not layer:
        pytest.fail(
            "sktfm.persistence does not exist: DESIGN.md's persistence layer is a "
            "bottom-layer module importing no other sktfm module"
        )
    bad = {m: sorted(t for t in graph[m] if not _in(t, "sktfm.persistence")) for m in layer}
    bad = {m: targets for m, targets in bad.items() if targets}
    assert not bad, f"the persistence layer must import no other sktfm module: {bad}"


def test_distributed_training_is_a_leaf(graph):
    leaf = "sktfm.training.distributed"
    if leaf not in graph:
        pytest.fail("sktfm/training/distributed.py does not exist (DESIGN.md, layer 'training')")
    importers = sorted(
        m for m in graph if _in(m, "sktfm.training") and m != leaf and leaf in graph[m]
    )
    assert not importers, (
        f"{importers} import {leaf}; it is a leaf of sktfm.training, used only by the estimators"
    )


def test_estimators_hold_no_tensor_code(imports):
    bad = {
        module: sorted(n for n in names if n.split(".")[0] == "torch")
        for module, names in imports.items()
        if _in(module, "sktfm.estimators")
    }
    bad = {module: names for module, names in bad.items() if names}
    assert not bad, f"estimator modules import torch (DESIGN.md: no tensor code there): {bad}"


def test_no_file_is_longer_than_the_limit():
    lengths = {
        path.relative_to(ROOT.parent).as_posix(): len(path.read_text().splitlines())
        for path in module_files(ROOT).values()
    }
    long = {path: n for path, n in sorted(lengths.items()) if n > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: " + ", ".join(
        f"{path} ({n} lines)" for path, n in long.items()
    )


# ------------------------------------------------------------------- one fit plan
def _calls_and_names(package):
    """Per file under ``sktfm/<package>``: the attribute names read, the getattr calls."""
    found = {}
    for module, path in module_files(ROOT / package).items():
        tree = ast.parse(path.read_text())
        attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        getattrs = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
        ]
        found[module] = (attributes, getattrs, path.read_text())
    return found


def test_the_training_package_reads_no_estimator_parameters():
    # A fit's plan (sktfm.training.plan) carries what training needs: no
    # get_params() dict is passed down, and no hidden deadline is kept.
    for module, (attributes, _, _) in _calls_and_names("training").items():
        assert "get_params" not in attributes, f"{module} reads get_params()"
    for module, (attributes, _, text) in {
        **_calls_and_names("training"),
        **_calls_and_names("estimators"),
    }.items():
        hidden = re.search(r"(?<![A-Za-z0-9])_deadline", text)
        assert "_deadline" not in attributes and not hidden, module


def test_estimators_do_not_guard_fitted_attributes_with_getattr_fallbacks():
    # Attributes that older folders lack are filled in at load
    # (_fill_older_format), where the format version answers the question;
    # a net's attributes have class defaults where "not yet" is a state.
    calls = {**_calls_and_names("estimators"), **_calls_and_names("training")}
    for module, (_, getattrs, _) in calls.items():
        for call in getattrs:
            target, name = call.args[0], call.args[1] if len(call.args) > 1 else None
            fitted_name = (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and name.value.endswith("_")
                and not name.value.startswith("__")
            )
            on_self = isinstance(target, ast.Name) and target.id == "self"
            assert not (on_self and fitted_name and len(call.args) == 3), (
                f"{module} line {call.lineno}: getattr(self, {name.value!r}, default)"
            )
