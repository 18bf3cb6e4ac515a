"""The floors hold: read every production module with `ast` (nothing is imported) and check who imports whom.

- No domain module (search/, billing/, listings/, employers/, careers/coders/) imports the top floor.
- careers/core/ imports no domain and nothing of the top floor.
- Imports inside functions that reach another domain number at most MAX_LOCAL_CROSS_DOMAIN, each with a
  comment (on its line or the line above) saying why it must be local.
- Module-level imports between our modules form no cycle, so any module can be imported first.
- Every `<domain>/plugin.py` is listed in careers/domains.py, and its references and template folder exist.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from careers.core.config import PROJECT_ROOT

PACKAGES = ("careers", "listings", "employers", "billing", "search")
DOMAINS = ("listings", "employers", "billing", "search", "careers.coders")
GROUND = ("careers.core", "careers.accounts")
TOP_FLOOR = ("careers.app", "careers.cli", "careers.worker", "careers.local", "careers.admin", "careers.supervisor",
             "careers.domains")
MAX_LOCAL_CROSS_DOMAIN = 10


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module (or package) imported
    line: int
    local: bool  # inside a function
    path: Path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def production_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if "piccolo_migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


MODULES = production_modules()


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative import: resolve against the importing package
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    # `from listings import service` imports the module listings.service when there is one
    return list(dict.fromkeys(f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names))


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(module: str, path: Path) -> list[Import]:
    found: list[Import] = []

    def walk(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue  # never runs
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(child, module):
                    if target.split(".")[0] in PACKAGES:
                        found.append(Import(module, target, child.lineno, local, path))
            walk(child, local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


ALL_IMPORTS = [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def floor_of(module: str) -> str:
    """The domain, "ground" or "top" a module belongs to."""
    for name in (*DOMAINS, *GROUND):
        if module == name or module.startswith(name + "."):
            return "ground" if name in GROUND else name
    return "top" if module.startswith("careers") else module.split(".")[0]


def _where(imp: Import) -> str:
    return f"{imp.path.relative_to(PROJECT_ROOT)}:{imp.line} imports {imp.target}"


def _is_top(target: str) -> bool:
    return any(target == top or target.startswith(top + ".") for top in TOP_FLOOR)


def test_no_domain_module_imports_the_top_floor():
    offending = [_where(imp) for imp in ALL_IMPORTS if floor_of(imp.module) in DOMAINS and _is_top(imp.target)]
    assert offending == [], "domains must not import app, cli, worker, local, admin, supervisor or domains"


def test_the_ground_floor_imports_no_domain_and_no_top_floor():
    offending = [
        _where(imp) for imp in ALL_IMPORTS
        if imp.module.startswith("careers.core") and (floor_of(imp.target) in DOMAINS or _is_top(imp.target)
                                                      or imp.target.startswith("careers.accounts"))
    ]
    assert offending == []


def test_few_function_level_imports_reach_another_domain_and_each_says_why():
    cross = [imp for imp in ALL_IMPORTS
             if imp.local and floor_of(imp.target) in DOMAINS and floor_of(imp.target) != floor_of(imp.module)]
    assert len(cross) <= MAX_LOCAL_CROSS_DOMAIN, "\n".join(_where(imp) for imp in cross)
    uncommented = []
    for imp in cross:
        lines = imp.path.read_text(encoding="utf-8").splitlines()
        if "#" not in lines[imp.line - 1] and not lines[imp.line - 2].strip().startswith("#"):
            uncommented.append(_where(imp))
    assert uncommented == [], "say in a one-line comment why each of these must be local"


def test_module_level_imports_form_no_cycle():
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in ALL_IMPORTS:
        if not imp.local and imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    cycles = _cycles(graph)
    assert cycles == [], "module-level import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_domain_plugin_is_listed_and_its_references_resolve():
    import importlib

    from careers.core import registry
    from careers.domains import DOMAINS as PLUGINS

    declared = [importlib.import_module(m).PLUGIN for m in MODULES if m.endswith(".plugin")]
    assert sorted(p.name for p in declared) == sorted(p.name for p in PLUGINS)
    assert all(any(p is listed for listed in PLUGINS) for p in declared), "list every plugin in careers/domains.py"
    for plugin in PLUGINS:
        for reference in (*plugin.routes, *plugin.outbox_handlers, *plugin.periodic_jobs, *plugin.commands,
                          *plugin.admin_panels):
            assert registry.resolve(reference) is not None, reference
        if plugin.templates:
            assert (PROJECT_ROOT / "templates" / plugin.templates).is_dir(), plugin.name


def test_importing_the_cli_builds_no_database_engine():
    """`careers` exports DATABASE_URL from .env before the engine (built at import of careers.core.db) exists."""
    import subprocess
    import sys

    probe = "import sys, careers.cli; print('careers.core.db' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
