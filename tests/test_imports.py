"""The house's layering (docs/design.md, "Layers"): no import circle among
fastgmm's modules nor among its packages, and each package imports only the
layers below it.

Every import counts, at module level or inside a function (a function's
import runs as surely, only later). An edge is module -> module it imports;
a circle is a strongly connected set of two or more modules. Between
packages, em -> sources and sources -> em both existing is a circle even
when no module-level one is.
"""

import ast
import pathlib

import fastgmm

ROOT = pathlib.Path(fastgmm.__file__).parent


def _modules():
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ("fastgmm",) + path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name, path, modules):
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                       else source for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def circles(graph):
    """Tarjan's strongly connected components of two or more modules."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    # two packages importing each other through different modules
    graph = {"fastgmm.em.init": {"fastgmm.sources.missing"}, "fastgmm.em.covariance": set(),
             "fastgmm.sources.missing": {"fastgmm.em.covariance"}}
    assert circles(graph) == []
    assert circles(package_graph(graph)) == [["fastgmm.em", "fastgmm.sources"]]


def test_no_import_circle():
    assert circles(import_graph()) == []


#: package -> the packages below it, which it may import (the picture in
#: docs/design.md). The estimators and the other modules at the top level sit
#: between cli/ and the rest; of those, the packages below cli/ may import
#: only the leaves `LEAVES`.
BELOW = {
    "fastgmm.kernels": set(),
    "fastgmm.em": {"fastgmm.kernels"},
    "fastgmm.sources": {"fastgmm.em", "fastgmm.kernels"},
    "fastgmm.files": {"fastgmm.em", "fastgmm.kernels"},
    "fastgmm.cli": {"fastgmm.em", "fastgmm.sources", "fastgmm.files", "fastgmm.kernels"},
}
LEAVES = {"fastgmm._constants", "fastgmm._version"}


def package_of(name):
    """``fastgmm.em`` for ``fastgmm.em.driver``; a top-level module is its own."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or name in BELOW else name


def package_graph(graph):
    out = {}
    for name, targets in graph.items():
        edges = out.setdefault(package_of(name), set())
        edges.update(package_of(t) for t in targets)
    return {name: edges - {name} for name, edges in out.items()}


def estimator_modules():
    """The modules that define an estimator: a class whose bases lead, by
    name, to scikit-learn's ``BaseEstimator`` through classes of fastgmm's."""
    classes = []  # (module, class name, base names)
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", None)
                         for b in node.bases}
                classes.append((name, node.name, bases))
    estimators, found = {"BaseEstimator"}, set()
    while True:
        new = {(module, cls) for module, cls, bases in classes if bases & estimators}
        if new <= found:
            return {module for module, _ in found}
        found |= new
        estimators |= {cls for _, cls in new}


def test_no_circle_between_packages():
    assert circles(package_graph(import_graph())) == []


def test_each_package_imports_only_the_layers_below_it():
    graph = package_graph(import_graph())
    assert set(BELOW) <= set(graph), "a package of the layers is gone: update BELOW"
    for package, below in BELOW.items():
        above = graph[package] - below - LEAVES
        if package == "fastgmm.cli":  # the command line is a client of the estimators
            above = {t for t in above if package_of(t) in BELOW}
        assert above == set(), package


def test_the_estimators_are_found():
    # every public estimator of fastgmm.__all__ is in a module found here
    from sklearn.base import BaseEstimator

    found = estimator_modules()
    public = {f"fastgmm.{module}" for name, (module, attribute) in fastgmm._LAZY.items()
              if attribute is not None and isinstance(getattr(fastgmm, name), type)
              and issubclass(getattr(fastgmm, name), BaseEstimator)}
    assert len(public) == 6 and public <= found, (public, found)


def test_no_package_below_the_cli_imports_an_estimator_or_the_public_api():
    # the estimators found, and every module of the public names (load,
    # plot, show_config): the layers below serve them and never call back
    graph = import_graph()
    public = {f"fastgmm.{module}" for module, _ in fastgmm._LAZY.values()}
    forbidden = estimator_modules() | public | {"fastgmm.cli"}
    for package in set(BELOW) - {"fastgmm.cli"}:
        bad = [(name, target) for name, targets in graph.items()
               if package_of(name) == package for target in targets
               if package_of(target) in forbidden]
        assert bad == [], package


def test_a_pickle_from_before_the_move_still_loads():
    import pickle

    import numpy as np

    X = np.random.RandomState(0).rand(300, 2)
    model = fastgmm.GaussianMixture(2, random_state=0).partial_fit(X)
    old = pickle.dumps(model, protocol=0).replace(b"fastgmm.em.driver", b"fastgmm._em")
    assert b"fastgmm._em\n" in old
    loaded = pickle.loads(old)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert type(loaded._stepwise_state).__name__ == "StepwiseState"
    again = loaded.partial_fit(X)
    expected = pickle.loads(pickle.dumps(model)).partial_fit(X)
    np.testing.assert_array_equal(again.means_, expected.means_)
