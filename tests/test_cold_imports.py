"""What a server process imports at start: no model runtime, no scikit-learn where only fitting needs it,
no migrations, Excel or solver, and a supervisor's snapshot check without the matcher (each import is
part of every cold start)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import api.loading
import matcher.recommender

MODEL_RUNTIMES = ("onnxruntime", "tokenizers", "torch", "sentence_transformers", "transformers")


def _imported(*modules: str) -> set[str]:
    """The modules a fresh interpreter holds after importing `modules`."""
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names: list[str] = json.loads(result.stdout)
    return set(names)


def test_the_app_imports_no_model_runtime() -> None:
    assert _imported("api.app").isdisjoint(MODEL_RUNTIMES)


def test_the_app_imports_neither_migrations_nor_excel_nor_the_solver() -> None:
    """Workers of `serve --workers N` skip the migration (0.2 s of Alembic); exports and allocations load
    openpyxl and scipy.optimize when first used."""
    assert _imported("api.app").isdisjoint({"alembic", "openpyxl", "scipy.optimize"})


@pytest.mark.parametrize(
    "module",
    [
        "matcher.scorer",
        "matcher.outcomes",
        "matcher.industry_model",
        "matcher.lexical",
        "api.config",
        "api.embedding",
        "api.app",
    ],
)
def test_scoring_and_loading_fitted_models_import_no_scikit_learn(module: str) -> None:
    assert "sklearn" not in _imported(module)


def test_the_supervisors_snapshot_check_imports_no_matcher_or_numerical_library() -> None:
    found = _imported("api.cli", "api.loading")
    assert {"sklearn", "scipy", "faiss", "matcher.recommender", "matcher.lexical"}.isdisjoint(found)
    assert found.isdisjoint(MODEL_RUNTIMES)


def test_the_loading_kinds_are_the_recommenders() -> None:
    assert api.loading.KINDS == matcher.recommender.KINDS
