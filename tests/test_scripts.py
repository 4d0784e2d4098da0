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
