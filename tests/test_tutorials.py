"""Every tutorial runs as a script, in fast mode, and writes its figures."""

import glob
import os
import runpy

import pytest

TUTORIALS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "tutorials", "*.py")))


@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorial_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHMRF_FAST", "1")
    monkeypatch.setenv("GRAPHMRF_FIGURES", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(path, run_name="__main__")
    assert glob.glob(str(tmp_path / "*.png")), "a tutorial saves at least one figure"


def test_there_are_tutorials():
    assert TUTORIALS
