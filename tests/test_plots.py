"""plots.show: one way for tutorials to show a figure -- saved for CI, inline in a notebook,
closed quietly in a script."""

import os
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from graphmrf import plots  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def fig():
    f, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    yield f
    plt.close(f)


def test_saved_to_the_folder_named_by_the_environment_and_closed(fig, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHMRF_FIGURES", str(tmp_path / "figs"))
    path = plots.show(fig, "diagonal")
    assert path == str(tmp_path / "figs" / "diagonal.png")
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    assert not plt.fignum_exists(fig.number)


def test_a_plain_script_only_closes_it(fig, tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHMRF_FIGURES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert plots.show(fig.axes[0], "diagonal") is None  # an Axes stands for its figure
    assert not plt.fignum_exists(fig.number)
    assert os.listdir(tmp_path) == []


def test_a_notebook_gets_the_png_inline(fig, tmp_path, monkeypatch):
    shown = []
    display = types.ModuleType("IPython.display")
    display.Image = lambda data, format: (format, data)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    monkeypatch.setattr(plots, "in_notebook", lambda: True)
    path = plots.show(fig, "inline.png", directory=tmp_path)
    assert path == str(tmp_path / "inline.png")
    assert len(shown) == 1 and shown[0][0] == "png" and shown[0][1].startswith(PNG_MAGIC)
    assert not plt.fignum_exists(fig.number)  # closed: the inline backend does not show it twice


def test_an_interactive_session_keeps_its_window(fig, monkeypatch):
    monkeypatch.delenv("GRAPHMRF_FIGURES", raising=False)
    plt.ion()
    try:
        assert plots.show(fig, "kept") is None
        assert plt.fignum_exists(fig.number)
    finally:
        plt.ioff()


def test_bad_figures_and_names_are_refused(fig, tmp_path):
    with pytest.raises(TypeError, match="show: fig must be a matplotlib Figure or Axes; got list"):
        plots.show([fig], "x", directory=tmp_path)
    for name in ("", "sub/x", ".."):
        with pytest.raises(ValueError, match="show: name must be a file name without a folder; got"):
            plots.show(fig, name, directory=tmp_path)
    assert os.listdir(tmp_path) == []
