"""The package's shape, as the design holds it: no import cycle, one statement per line for
unrelated state, no timing in a comment, and no repository path in what `pip install .`
installs. (A module is as long as its one concept needs: there is no line cap.)"""
import ast
import re
import tokenize

from repo import ROOT

PACKAGE = ROOT / "housing"
MODULES = sorted(PACKAGE.rglob("*.py"))


def name_of(path):
    """housing.readers.csvfile for housing/readers/csvfile.py; a package by its __init__."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


KNOWN = {name_of(p) for p in MODULES}


def tree(path):
    return ast.parse(path.read_text(), str(path))


def imports(path):
    """The housing modules ``path`` imports at its top level or in a function."""
    module = name_of(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            found |= submodules if submodules & KNOWN else {base}
    return {name for name in found if name in KNOWN and name != module}


def test_no_import_cycle():
    graph = {name_of(p): imports(p) for p in MODULES}
    cycles = []

    def visit(module, path):
        for nxt in sorted(graph.get(module, ())):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(module)
    done = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []


def test_no_state_is_squeezed_into_one_assignment():
    squeezed = [f"{name_of(p)}:{node.lineno}" for p in MODULES for node in ast.walk(tree(p))
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple)
                and isinstance(node.value, ast.Tuple)]
    assert squeezed == []


def test_the_installed_package_reads_no_repository_path():
    # what the repository holds beside the package is not installed with it (a Makefile
    # where the command runs only tells cli.how_to_build that it runs in a checkout)
    beside = ("tests", "docs", "deploy", "README.md", ".ci", "Dockerfile")
    named = [f"{name_of(p)}:{node.lineno} {node.value!r}" for p in MODULES
             for node in ast.walk(tree(p))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and node.value.split("/")[0] in beside]
    assert named == []


def test_no_comment_carries_a_timing():
    # a figure belongs to the benchmark that prints it and the docs; a comment gives the reason
    figure = re.compile(r"\d\s*(ns|us|µs|ms|s|seconds)\b|\d(\.\d+)?x\b|\d\s*%")
    timed = []
    for path in MODULES:
        with open(path, "rb") as f:
            timed += [f"{name_of(path)}:{t.start[0]} {t.string}"
                      for t in tokenize.tokenize(f.readline)
                      if t.type == tokenize.COMMENT and figure.search(t.string)]
    assert timed == []
