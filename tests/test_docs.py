"""The documentation builds with Sphinx, warnings as errors, without touching the source tree.

sphinx-gallery and autosummary write generated pages next to the sources (``docs/auto_examples``,
``docs/generated``, ``docs/sg_execution_times.rst``), so the test builds a copy of ``docs/`` and
``examples/`` made in a temporary folder. ``-D plot_gallery=0`` lists the examples without running them.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
    pytest.importorskip(_module, reason=f"{_module} is missing: install the docs extra, pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("_build", "generated", "auto_examples", "sg_execution_times.rst")


def test_docs_build_without_warnings(tmp_path):
    before = {name: (ROOT / "docs" / name).exists() for name in GENERATED}
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns(*GENERATED))
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "html"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-D", "plot_gallery=0",
         "-d", str(tmp_path / "doctrees"), str(tmp_path / "docs"), str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert run.returncode == 0, f"sphinx-build failed:\n{run.stderr[-5000:]}\n{run.stdout[-2000:]}"
    page = out / "generated" / "sktransformer.TransformerClassifier.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    assert 'id="sktransformer.TransformerClassifier.predict_proba"' in html
    assert (out / "user_guide" / "input_modes.html").is_file()
    assert (out / "auto_examples" / "index.html").is_file()
    # nothing was generated in the source tree
    assert {name: (ROOT / "docs" / name).exists() for name in GENERATED} == before
