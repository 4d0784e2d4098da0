"""The benchmark and example scripts are not imported by the suite; at least they must compile here."""

import pathlib
import py_compile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("examples/*.py")])


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_script_compiles_on_this_python(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


def test_scripts_are_found():
    assert len(SCRIPTS) >= 21  # 10 benchmarks, the demo, 9 gallery examples and the ODDS example


def test_the_holes_of_the_missing_value_benchmark():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("missing_benchmark", ROOT / "benchmarks" / "missing.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    X = np.asfortranarray(np.random.RandomState(0).normal(size=(200, 6)))  # as np.load may give
    for share in (10, 30):
        holes = np.isnan(bench.knock_out(X, f"mcar{share}", np.random.RandomState(0)))
        assert holes.mean() == share / 100 and holes.any(axis=0).all()
    Z = bench.knock_out(X, "mnar30", np.random.RandomState(0))
    hit = np.isnan(Z).any(axis=0)
    assert hit.sum() == 3 and not np.isnan(X).any()
    for j in np.flatnonzero(hit):  # the 30% largest values of each column hit, and only those
        missing = np.isnan(Z[:, j])
        assert missing.sum() == 60 and X[missing, j].min() > X[~missing, j].max()
