"""Import edges between the project's packages, read from every module's source with `ast`.

Dependencies point one way: api -> matcher -> models, and migrations -> models. The demo generators
(`demo`) and the build-time tools (`tools`) stay outside the running service: only the `xingpei demo`
and `xingpei gen` commands (api/cli.py) import `demo`, nothing in the runtime imports `tools`, and
`bench` does not import `tests`. Inside `api`, pages, routes and the command line are siblings that
call services, and no module reaches for another module's private name. Every .py file of the
repository counts (not .venv), imports inside functions included. Each rule fails with the offending
`file:line: import` lines.

Run: `python -m pytest tests/test_architecture.py`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = frozenset({"api", "matcher", "models", "migrations", "demo", "tools", "tests", "bench"})
"""The project's own top-level packages (bench holds scripts that import each other by bare name)."""
SKIPPED_DIRS = frozenset(
    {
        ".venv",
        ".git",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        "__pycache__",
        "build",
        "dist",
        "var",
    }
)


@dataclass(frozen=True)
class Import:
    """One import statement of a project module: who imports, where, and the modules it may name."""

    module: str
    path: str
    line: int
    source: str
    targets: tuple[str, ...]
    """Each alias's module for `import`; for `from`, the module, then module.name for each name."""
    node: ast.Import | ast.ImportFrom = field(compare=False)

    def __str__(self) -> str:
        """`file:line: statement`, as a failure lists it."""
        return f"{self.path}:{self.line}: {self.source}"


@dataclass(frozen=True)
class Module:
    """A parsed .py file of the repository and its dotted name."""

    name: str
    path: str
    tree: ast.Module


def _python_files() -> Iterator[Path]:
    """Every .py file of the repository, outside virtualenvs, caches and build output."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts[:-1]
        if not any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in parts):
            yield path


def _module_name(relative: Path) -> str:
    """`api/web/pages_find.py` -> `api.web.pages_find`; a package's `__init__.py` -> the package."""
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> tuple[Module, ...]:
    """Every module of the repository, parsed."""
    found = []
    for path in _python_files():
        relative = path.relative_to(ROOT)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))
        found.append(Module(_module_name(relative), relative.as_posix(), tree))
    return tuple(found)


@cache
def module_names() -> frozenset[str]:
    """The dotted names of every module and package of the repository."""
    return frozenset(module.name for module in modules())


def _absolute(module: Module, name: str, level: int) -> str:
    """The dotted name an import refers to: relative imports resolved, bench's bare names prefixed."""
    if level:
        is_package = module.path.endswith("__init__.py")
        base = module.name.split(".")[: len(module.name.split(".")) - level + is_package]
        return ".".join([*base, name] if name else base)
    if module.name.startswith("bench.") and f"bench.{name.split('.')[0]}" in module_names():
        return f"bench.{name}"
    return name


def _imports_of(module: Module) -> Iterator[Import]:
    """Every import statement of a module, at any depth, that names a project module."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            targets = tuple(_absolute(module, alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node.module or "", node.level)
            targets = (base, *(f"{base}.{alias.name}" for alias in node.names))
        else:
            continue
        if any(target.split(".")[0] in PACKAGES for target in targets):
            yield Import(module.name, module.path, node.lineno, ast.unparse(node), targets, node)


@cache
def imports() -> tuple[Import, ...]:
    """Every import of a project module anywhere in the repository."""
    found = (item for module in modules() for item in _imports_of(module))
    return tuple(sorted(found, key=lambda item: (item.path, item.line)))


def under(*prefixes: str) -> Callable[[str], bool]:
    """Whether a dotted name is one of `prefixes` or inside one of them."""
    return lambda name: any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


is_page = under("api.web")
is_route = under("api.routes")
is_service = under("api.services")


def is_cli(name: str) -> bool:
    """api/cli.py and its command groups, api/cli_*.py."""
    return under("api.cli")(name) or name.startswith("api.cli_")


def offences(importer: Callable[[str], bool], imported: Callable[[str], bool]) -> list[str]:
    """The imports of modules matching `importer` that name a module matching `imported`."""
    return [
        str(found)
        for found in imports()
        if importer(found.module) and any(imported(target) for target in found.targets)
    ]


def _report(rule: str, found: list[str]) -> str:
    """A failure message: the rule, then one offending import per line."""
    return f"{rule}:\n" + "\n".join(found)


def is_private(name: str) -> bool:
    """`_name`, but not `__dunder__`."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _project_modules_bound(module: Module) -> dict[str, str]:
    """The names a module binds to project modules (`import a.b`, `import a.b as m`, `from a import b`)."""
    bound: dict[str, str] = {}
    for found in _imports_of(module):
        if isinstance(found.node, ast.Import):  # `import a.b` binds `a`; `import a.b as m` binds `m`
            for alias, target in zip(found.node.names, found.targets, strict=True):
                if alias.asname:
                    bound[alias.asname] = target
                else:  # bench's `import results` binds `results` to bench.results
                    prefix = len(target.split(".")) - len(alias.name.split("."))
                    bound[alias.name.split(".")[0]] = ".".join(target.split(".")[: prefix + 1])
            continue
        for alias, target in zip(found.node.names, found.targets[1:], strict=True):
            if target in module_names():
                bound[alias.asname or alias.name] = target
    return bound


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of attribute reads on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def private_reads(module: Module) -> list[str]:
    """`file:line: mod._name` for each read of a private name of a project module bound in `module`."""
    bound = _project_modules_bound(module)
    found: list[tuple[int, str]] = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Attribute) or not is_private(node.attr):
            continue
        owner = _dotted(node.value)
        if owner is None or owner.split(".")[0] not in bound:
            continue
        head, _, rest = owner.partition(".")
        resolved = ".".join(filter(None, (bound[head], rest)))
        if resolved in module_names() and resolved != module.name:
            found.append((node.lineno, f"{module.path}:{node.lineno}: {ast.unparse(node)}"))
    return [line for _, line in sorted(found)]


def test_the_scan_sees_lazy_and_bench_local_imports() -> None:
    found = {(item.path, target) for item in imports() for target in item.targets}
    assert ("api/cli.py", "demo.bundle") in found  # inside demo_command
    assert ("bench/encoding.py", "bench.results") in found  # `import results`


def test_models_import_no_other_layer() -> None:
    rule = under("api", "matcher", "migrations", "demo", "tools", "tests", "bench")
    found = offences(under("models"), rule)
    assert not found, _report("models imports api, matcher, migrations, demo, tools, tests or bench", found)


def test_matcher_imports_only_models() -> None:
    found = offences(under("matcher"), under("api", "migrations", "demo", "tools", "tests", "bench"))
    assert not found, _report("matcher imports api, migrations, demo, tools, tests or bench", found)


def test_migrations_import_only_models() -> None:
    found = offences(under("migrations"), under("api", "matcher", "demo", "tools", "tests", "bench"))
    assert not found, _report("migrations imports api, matcher, demo, tools, tests or bench", found)


def test_api_imports_no_tests_bench_or_tools() -> None:
    found = offences(under("api"), under("tests", "bench", "tools"))
    assert not found, _report("api imports tests, bench or tools", found)


def test_only_the_cli_imports_demo() -> None:
    found = offences(lambda name: under("api")(name) and name != "api.cli", under("demo"))
    assert not found, _report("api imports demo outside api/cli.py", found)


def test_bench_imports_no_tests() -> None:
    found = offences(under("bench"), under("tests"))
    assert not found, _report("bench imports tests", found)


def test_pages_import_no_routes() -> None:
    found = offences(is_page, is_route)
    assert not found, _report("a page (api/web) imports a route module (api/routes)", found)


def test_routes_import_no_pages() -> None:
    found = offences(is_route, is_page)
    assert not found, _report("a route module (api/routes) imports a page module (api/web)", found)


def test_cli_imports_neither_routes_nor_pages() -> None:
    found = offences(is_cli, lambda name: is_route(name) or is_page(name))
    assert not found, _report("the command line (api/cli*.py) imports a route or page module", found)


def test_services_import_no_routes_pages_or_cli() -> None:
    found = offences(is_service, lambda name: is_route(name) or is_page(name) or is_cli(name))
    assert not found, _report("a service (api/services) imports a route, page or CLI module", found)


def test_no_module_imports_a_private_name() -> None:
    found = [
        str(item)
        for item in imports()
        if any(is_private(part) for target in item.targets for part in target.split("."))
    ]
    assert not found, _report("an import of another module's private name (from x import _y)", found)


def test_no_module_reads_a_private_name_of_another() -> None:
    found = [read for module in modules() for read in private_reads(module)]
    assert not found, _report("a read of another module's private name (module._name)", found)
