"""Every ```python`` block of the "Scaling out" page runs as written, in a fresh process of its own
(its ``if __name__ == "__main__"`` guard starts a LocalCluster, as a user's script would)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="needs the dask extra: pip install 'sktransformer[dask]'")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "scaling.rst"
BLOCKS = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", PAGE.read_text(encoding="utf-8"))


def test_page_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS) - 1))  # the last block goes on from the one before
def test_scaling_example_runs(index, tmp_path):
    code = "\n".join(line[3:] for line in BLOCKS[index].splitlines())
    if index == len(BLOCKS) - 2:  # ParallelPostFit: run inside the previous example's cluster
        last = [line[3:] for line in BLOCKS[-1].splitlines() if line.strip()]
        tail = "\n".join("        " + line for line in last[1:])  # after its import
        code = "from dask_ml.wrappers import ParallelPostFit\n" + code + "\n" + tail + "\n        print(labels[:5])"
    script = tmp_path / "example.py"
    script.write_text(code)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip()
