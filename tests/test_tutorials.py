"""Every tutorial runs as a script, in fast mode, and writes its figures; opened as a
notebook (jupytext), a tutorial shows its figures inline."""

import glob
import os
import re
import runpy

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TUTORIALS = sorted(glob.glob(os.path.join(ROOT, "tutorials", "*.py")))


@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorial_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHMRF_FAST", "1")
    monkeypatch.setenv("GRAPHMRF_FIGURES", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(path, run_name="__main__")
    assert glob.glob(str(tmp_path / "*.png")), "a tutorial saves at least one figure"


def test_there_are_tutorials():
    assert TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorial_opens_as_a_notebook_of_cells(path):
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(path)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds[0] == "markdown" and kinds.count("code") >= 2  # a title, then cells, not one block


def test_a_tutorial_executed_as_a_notebook_shows_its_figures_inline(tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    path = os.path.join(ROOT, "tutorials", "01_declare_compile_enumerate.py")
    nb = jupytext.read(path)
    monkeypatch.setenv("GRAPHMRF_FAST", "1")
    monkeypatch.setenv("GRAPHMRF_FIGURES", str(tmp_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own (inline) backend
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))  # this checkout's graphmrf
    resources = {"metadata": {"path": str(tmp_path)}}  # the kernel's working folder
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources=resources).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        calls = len(re.findall(r"^show\(", cell.source, flags=re.M))
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == calls, cell.source  # each figure once: shown by show(), not again by the backend
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.source  # no warnings
    assert sorted(os.listdir(tmp_path)) == ["01_lecture_p_v.png"]
