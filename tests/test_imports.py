"""The house's layering: no import circle among fastgmm's modules.

Every import counts, at module level or inside a function (a function's
import runs as surely, only later). An edge is module -> module it imports;
a circle is a strongly connected set of two or more modules.
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


def test_no_import_circle():
    assert circles(import_graph()) == []


def test_the_kernels_import_nothing_above_them():
    above = [(name, target) for name, targets in import_graph().items()
             if name.startswith("fastgmm.kernels") for target in targets
             if not target.startswith(("fastgmm.kernels", "fastgmm._constants"))]
    assert above == []


def test_the_em_modules_import_no_estimator_and_no_cli():
    graph = import_graph()
    estimators = ("fastgmm.mixture", "fastgmm._base", "fastgmm._bayesian",
                  "fastgmm._search", "fastgmm.cli", "fastgmm._persist")
    for package in ("fastgmm.em", "fastgmm.sources", "fastgmm.files"):
        bad = [(name, target) for name, targets in graph.items()
               if name.startswith(package) for target in targets
               if target.startswith(estimators)]
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
