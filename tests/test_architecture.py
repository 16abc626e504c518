"""The package reads as the data flows: each stage imports only from the stages before it.

The stages, in the order data flows (README, "Layout"): a module may import from its own stage and
from earlier ones, never from a later one (imports under `if TYPE_CHECKING:` are annotations only and
are checked too: they show which way the types point). No module is over 400 lines and no function
over 60, so that a newcomer reads any of them at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"
# Earlier stages first; `testing` (examples, synthetic data) serves the tests and benchmarks only.
STAGES = ("model", "files", "config", "inputs", "engine", "history", "run", "render", "campaign", "api", "web", "cli",
          "testing")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def _stage(module: str) -> str | None:
    """`auditor.engine.context` -> "engine"; the package's own `__init__` and `__main__` have none."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def _module_name(path: Path) -> str:
    parts = ["auditor", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of the package made by `path`."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
            found += [(node.lineno, name) for name in names if name.startswith("auditor")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("auditor")]
    known = {_module_name(p) for p in _modules()}
    return [(line, name if name in known else name.rpartition(".")[0]) for line, name in found]


def test_every_module_belongs_to_a_stage():
    strays = [str(p.relative_to(PACKAGE)) for p in _modules()
              if _stage(_module_name(p)) is None and p.name not in ("__init__.py", "__main__.py")]
    assert strays == []


def test_no_stage_imports_from_a_later_one():
    upward = []
    for path in _modules():
        here = _stage(_module_name(path))
        if here is None:
            continue
        for line, target in _imports(path):
            there = _stage(target)
            if there is not None and STAGES.index(there) > STAGES.index(here):
                upward.append(f"{path.relative_to(PACKAGE)}:{line} -> {target}")
    assert upward == []


def test_the_package_has_no_import_cycle():
    graph = {_module_name(p): {target for _, target in _imports(p)} for p in _modules()}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in trail:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in done:
                visit(target, trail + [target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []


def test_no_module_is_longer_than_a_newcomer_reads_at_once():
    long = {str(p.relative_to(PACKAGE)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_longer_than_a_screen(path):
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lignes)"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_every_check_says_what_it_reads():
    import inspect

    from auditor.engine.checks import REGISTRY

    untyped = [name for name, kind in REGISTRY.items()
               if inspect.signature(kind.function).parameters["ctx"].annotation != "AuditContext"]
    assert untyped == []
