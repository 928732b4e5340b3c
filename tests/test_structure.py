"""The package's shape: its import graph follows the layers, and private names stay home.

The graph is read from the source with ``ast`` (nothing is imported): every ``import``
and ``from ... import`` of a convowidget module is an arrow, at module level, inside a
function, or under ``if TYPE_CHECKING:`` alike, and so is ``importlib.import_module`` of
one. ``LAYERS`` is the order the README's Development section gives: a module may import
only modules of lower layers, never one beside it or above it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "convowidget"

# Lowest first. A module imports only from layers below its own; a layer's modules are
# siblings that do not import each other. Keep in step with README.md ("Development").
LAYERS = [
    "errors",
    "_io _logs _options _retry _urls _dataframe _markdown _metadata _terminal _redaction _patterns _files _histories",
    "protocol forms _inert_links",
    "ui transcript",
    "turns",
    "reply agent",
    "_failures cassette _streaming _agents _suite_checks _run_records reply_view demo _turn_record _copy_html",
    "_connection _expect _results_html _saved_copy _panel_forms _terminal_reply _answers _export _panel_messages",
    "client server suite results",
    "runner _panel_options",
    "widget",
    "magic",
    "cli",
    "__init__",
]

# Arrows kept on purpose, each inside a function, for code written before runner.py.
COMPATIBILITY = {
    ("client", "runner"): "ConvoClient.run_suite, the method kept as an alias of run_suite(client, ...)",
    ("suite", "runner"): "convowidget.suite.run_suite, still importable from where it was",
}


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    line: int
    where: str  # "module", "function" or "TYPE_CHECKING"


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in PACKAGE.glob("*.py")}


def _targets(node: ast.AST, names: set[str]) -> list[str]:
    """The convowidget modules one import statement reaches (``__init__`` for the package)."""
    if isinstance(node, ast.Import):
        found = []
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == "convowidget":
                found.append(parts[1] if len(parts) > 1 and parts[1] in names else "__init__")
        return found
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level == 0 and module.split(".")[0] != "convowidget":
            return []
        first = (module if node.level else module.removeprefix("convowidget").lstrip(".")).split(".")[0]
        if first:
            return [first if first in names else "__init__"]
        return [alias.name if alias.name in names else "__init__" for alias in node.names]
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
        text = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        if isinstance(text, str) and (text.startswith(".") or text.split(".")[0] == "convowidget"):
            first = text.lstrip(".").removeprefix("convowidget").lstrip(".").split(".")[0]
            return [first if first in names else "__init__"]
    return []


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def arrows() -> list[Arrow]:
    """Every import of one convowidget module by another, with where it stands."""
    trees = modules()
    names = set(trees)
    found: list[Arrow] = []

    def visit(source: str, node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inside = where
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inside = "function" if where == "module" else where
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                inside = "TYPE_CHECKING"
            for target in _targets(child, names):
                if target != source:
                    found.append(Arrow(source, target, child.lineno, inside))
            visit(source, child, inside)

    for source, tree in trees.items():
        visit(source, tree, "module")
    return found


def layer_of() -> dict[str, int]:
    return {name: index for index, layer in enumerate(LAYERS) for name in layer.split()}


def upward(graph: list[Arrow]) -> list[Arrow]:
    """Arrows to a module of the same layer or a higher one (compatibility arrows left out)."""
    layer = layer_of()
    return [
        arrow
        for arrow in graph
        if (arrow.source, arrow.target) not in COMPATIBILITY and layer[arrow.target] >= layer[arrow.source]
    ]


def cycles(graph: list[Arrow]) -> list[list[str]]:
    """The import cycles: each strongly connected set of modules larger than one (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for arrow in graph:
        edges.setdefault(arrow.source, set()).add(arrow.target)
        edges.setdefault(arrow.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("_")  # _repr_html_ and dunders are protocols


def private_crossings() -> list[str]:
    """Private names one module takes from another: imported, or read as another's attribute.

    ``from .x import _y`` and ``x._y`` on an imported module count; so does ``obj._y`` on
    anything but ``self`` or ``cls`` when ``_y`` is defined nowhere in the reading module.
    Private modules themselves (``from . import _io``) are the package's own business.
    """
    trees = modules()
    names = set(trees)
    found = []
    for source, tree in trees.items():
        package_modules: set[str] = set()  # local names bound to convowidget modules
        outside: set[str] = set()  # local names bound to other libraries
        defined: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _targets(node, names):
                for alias in node.names:
                    local = alias.asname or alias.name
                    if alias.name in names and not node.module:
                        package_modules.add(local)
                    elif _private(alias.name):
                        found.append(f"{source}:{node.lineno} imports {alias.name} from {_targets(node, names)[0]}")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                outside.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                defined.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)):
                continue
            owner = node.value.id
            if owner in package_modules or (
                owner not in ("self", "cls") and owner not in outside and node.attr not in defined
            ):
                found.append(f"{source}:{node.lineno} reads {owner}.{node.attr}")
    return sorted(found)


def test_every_module_has_a_layer_and_the_layers_name_only_real_modules():
    layer = layer_of()
    assert sorted(layer) == sorted(modules()), "add the module to LAYERS (and to the README's list)"
    assert len(layer) == sum(len(line.split()) for line in LAYERS), "a module stands in two layers"


def test_no_module_imports_one_beside_or_above_it():
    found = [f"{a.source}:{a.line} imports {a.target} ({a.where})" for a in upward(arrows())]
    assert found == []


def test_no_import_cycles():
    graph = [arrow for arrow in arrows() if (arrow.source, arrow.target) not in COMPATIBILITY]
    assert cycles(graph) == []


def test_the_compatibility_arrows_are_imports_inside_a_function_and_still_needed():
    graph = arrows()
    for pair, reason in COMPATIBILITY.items():
        kinds = {arrow.where for arrow in graph if (arrow.source, arrow.target) == pair}
        assert kinds == {"function"}, f"{pair}: {reason}"


def test_no_private_name_crosses_a_module():
    assert private_crossings() == []


def test_all_lists_only_public_names_the_module_has():
    for name, tree in modules().items():
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                listed = ast.literal_eval(node.value)
                assert not [entry for entry in listed if entry.startswith("_")], name
                assert listed == sorted(listed), f"{name}: keep __all__ sorted"


LONGEST_FUNCTION = 60  # lines of code, the docstring left out
DECLARATIVE_TABLES: set[str] = set()  # "module:function" that only lay out data, exempt from the limit


def test_functions_stay_short():
    long = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if ast.get_docstring(node, clean=False) is not None:
                    lines -= node.body[0].end_lineno - node.body[0].lineno + 1
                if lines > LONGEST_FUNCTION and f"{name}:{node.name}" not in DECLARATIVE_TABLES:
                    long.append(f"{name}:{node.lineno} {node.name} has {lines} lines")
    assert long == []
