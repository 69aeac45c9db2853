"""The import graph runs one way: no lower layer of lcsim imports a higher one, at module level or inside a function.

Read from the source (every ``import`` statement, relative ones resolved), so an import hidden in a function body
counts as much as one at the top of a file."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` (a file under ``root``) imports (``from X import y`` counts as ``X`` and ``X.y``)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _files(where: str) -> list[Path]:
    p = ROOT / where
    return sorted(p.rglob("*.py")) if p.is_dir() else [p]


# (files, modules none of them may import)
RULES = [
    ("lcsim/_files.py", ["lcsim.benchmarks", "lcsim.optimizers", "lcsim.replay", "lcsim.live", "lcsim.proxy"]),
    ("lcsim/space.py", ["lcsim.benchmarks", "lcsim.optimizers", "lcsim.replay", "lcsim.live", "lcsim.proxy"]),
    ("lcsim/benchmarks", ["lcsim.testing", "lcsim.optimizers", "lcsim.replay", "lcsim.live", "lcsim.proxy"]),
    ("lcsim/surrogates", ["lcsim.optimizers", "lcsim.testing", "lcsim.replay"]),
    ("lcsim/optimizers", ["lcsim.proxy", "lcsim.testing", "lcsim.live"]),
    ("lcsim/live/spaces.py", ["lcsim.live.build", "lcsim.live.task", "lcsim.live.trainer"]),
    ("lcsim/live/trainer.py", ["lcsim.live.build", "lcsim.live.task"]),
    ("lcsim/live/task.py", ["lcsim.live.build"]),
    ("analysis/lc_prediction.py", ["lcsim.optimizers"]),
]


@pytest.mark.parametrize("where, banned", RULES, ids=[r[0] for r in RULES])
def test_no_upward_import(where, banned):
    files = _files(where)
    assert files, f"{where} not found"
    bad = [(str(f.relative_to(ROOT)), m) for f in files for m in sorted(_imports(f))
           if any(m == b or m.startswith(b + ".") for b in banned)]
    assert not bad, f"upward imports: {bad}"


def test_the_reader_sees_relative_and_nested_imports(tmp_path):
    """The check itself: a relative import inside a function is resolved to its absolute module."""
    f = tmp_path / "lcsim" / "optimizers" / "x.py"
    f.parent.mkdir(parents=True)
    f.write_text("def g():\n    from ..proxy.agn_search import agn_objective\n    from . import _base\n")
    assert {"lcsim.proxy.agn_search", "lcsim.optimizers._base"} <= _imports(f, tmp_path)
