r"""Couplings and the kernels that turn them into each unit's input.

A :class:`Coupling` joins layer ``a`` (rows) to layer ``b`` (columns): a dense matrix
between layer nodes, or sparse entries between single units. :class:`Inputs` computes the
coupling input ("field") of any part of a layer,

.. math:: x_i = \sum_j W_{ij} T(s_j),

over undirected neighbours, lateral partners and directed parents (a directed child's
influence is not part of ``x``), with the products for each part worked out once: a
matrix product per dense coupling, one CSR product per source layer of sparse entries.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=1.0), dtype=np.float64)
>>> s = np.ones((1, 5))
>>> x = prog.field(prog.statistic(s), prog.layers[1])
>>> bool(np.allclose(x, s[:, :3] @ prog.params["v~h.weight"]))
True
>>> symmetric_matrix(3, dense=[(0, 1, np.array([[2.0, 3.0]]), False)]).tolist()
[[0.0, 2.0, 3.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.0]]
"""

import numpy as np
import scipy.sparse

from .backend import to_host
from .layout import Part

__all__ = ["Coupling", "Recognition", "Inputs", "symmetric_matrix", "lattice_bonds", "neighbour_sum", "column_major"]


def column_major(a):
    """True for an array stored column by column (a 2-D Fortran-ordered array or slice).

    One-unit-at-a-time samplers keep their chains so (each unit's column contiguous); a
    single row, contiguous both ways, counts as row-major.

    Parameters
    ----------
    a : array
        A NumPy or CuPy array.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> column_major(np.zeros((3, 2), order="F")), column_major(np.zeros((3, 2))), column_major(np.zeros((1, 2)))
    (True, False, False)
    """
    return a.ndim == 2 and a.shape[0] > 1 and a.flags.f_contiguous and not a.flags.c_contiguous


def lattice_bonds(shape, periodic, width=1, with_axis=False):
    """The nearest-neighbour bonds of a lattice of ``shape`` (sites in row-major order):
    ``(rows, cols)`` with ``cols[b]`` the next neighbour of site ``rows[b]`` along one axis
    (axis by axis; an open lattice has no bond past its last site), as column indices of
    ``width``-column units (each category of a softmax site bonded to the same category).
    ``with_axis`` adds an array (bonds, 2) of (axis, site) of each bond.

    Parameters
    ----------
    shape : tuple of int
        The lattice's sides.
    periodic : bool
        Whether the last site along an axis is bonded to the first.
    width : int
        Columns per site (K for softmax sites).
    with_axis : bool
        Whether to return each bond's (axis, site) too.

    Returns
    -------
    rows, cols : int arrays (bonds * width,)
    where : int array (bonds, 2)
        Only with ``with_axis``.

    Examples
    --------
    >>> r, c = lattice_bonds((2, 3), periodic=False)
    >>> list(zip(r.tolist(), c.tolist()))
    [(0, 3), (1, 4), (2, 5), (0, 1), (1, 2), (3, 4), (4, 5)]
    """
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    rows, cols, where = [], [], []
    for axis in range(len(shape)):
        nxt = np.roll(idx, -1, axis=axis)
        keep = np.ones(shape, bool)
        if not periodic:
            sl = [slice(None)] * len(shape)
            sl[axis] = -1
            keep[tuple(sl)] = False
        rows.append(idx[keep])
        cols.append(nxt[keep])
        where.append(np.stack([np.full(int(keep.sum()), axis), idx[keep]], axis=1))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    if width > 1:
        k = np.arange(width)
        rows, cols = (rows[:, None] * width + k).reshape(-1), (cols[:, None] * width + k).reshape(-1)
    return (rows, cols, np.concatenate(where)) if with_axis else (rows, cols)


def neighbour_sum(xp, T, shape, periodic, W, width):
    """``x_i = sum_(j nb i) J_ij T_j`` over a lattice's nearest neighbours, for every site
    of every chain: ``T`` (chains, sites * width) -> an array of the same shape. ``W`` is
    one coupling (shape (1,)) or one per bond ``(ndim, *shape)``: site to next neighbour.

    Cost: two shifted products per axis over the whole lattice (a stencil; no matrix).

    Parameters
    ----------
    xp : module
        The array namespace.
    T : array (chains, sites * width)
        Statistics of the lattice's sites.
    shape : tuple of int
        The lattice's sides.
    periodic : bool
        Whether it wraps around.
    W : array ``(1,)`` or ``(ndim, *shape)``
        The coupling(s).
    width : int
        Columns per site (category k of a site reads category k of its neighbours).

    Returns
    -------
    array (chains, sites * width)

    Examples
    --------
    On an open 3 x 3 lattice a corner has two neighbours, an edge site three, the centre four:

    >>> import numpy as np
    >>> neighbour_sum(np, np.ones((1, 9)), (3, 3), False, np.array([0.5]), 1).reshape(3, 3)
    array([[1. , 1.5, 1. ],
           [1.5, 2. , 1.5],
           [1. , 1.5, 1. ]])
    """
    chains = T.shape[0]
    S = T.reshape((chains,) + tuple(shape) + (width,))
    out = xp.zeros_like(S)
    uniform = W.size == 1
    for a in range(len(shape)):
        ax = a + 1
        J = W.reshape(()) if uniform else W[a].reshape((1,) + tuple(shape) + (1,))
        if periodic:
            out += J * xp.roll(S, -1, axis=ax)  # the bond to the next site
            out += xp.roll(J * S, 1, axis=ax)  # the bond from the previous site
        else:
            lo = [slice(None)] * (len(shape) + 2)
            hi = list(lo)
            lo[ax], hi[ax] = slice(None, -1), slice(1, None)
            lo, hi = tuple(lo), tuple(hi)
            Jb = J if uniform else J[lo]
            out[lo] += Jb * S[hi]
            out[hi] += Jb * S[lo]
    return out.reshape(chains, -1)


def symmetric_matrix(n, dense=(), sparse=(), as_sparse=False):
    """The coupling matrix ``J`` (n x n, float64, both triangles) with
    ``E_couplings = -T^T J T / 2``; a scipy CSR matrix with ``as_sparse`` (a dense block
    by its nonzero entries).

    ``dense`` holds ``(row offset, column offset, M, lateral)``: ``M`` is added at the
    offsets and ``M^T`` at the mirrored ones, or once for a lateral (symmetric) ``M``;
    ``sparse`` holds ``(rows, cols, values)`` arrays of absolute column indices, each entry
    added at both ``(r, c)`` and ``(c, r)``.

    Parameters
    ----------
    n : int
        Columns of a state.
    dense : sequence of (int, int, array, bool)
        Dense blocks.
    sparse : sequence of (int array, int array, array)
        Sparse entries.
    as_sparse : bool
        Return a scipy CSR matrix (entries at one place summed, as in the dense one).

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix (n, n)

    Examples
    --------
    >>> import numpy as np
    >>> symmetric_matrix(3, sparse=[(np.array([0]), np.array([2]), np.array([1.5]))])
    array([[0. , 0. , 1.5],
           [0. , 0. , 0. ],
           [1.5, 0. , 0. ]])
    >>> symmetric_matrix(3, dense=[(0, 1, np.array([[2.0, 0.0]]), False)], as_sparse=True).toarray()[0].tolist()
    [0.0, 2.0, 0.0]
    """
    if as_sparse:
        rows, cols, vals = [], [], []
        for r0, c0, M, lateral in dense:
            M = np.asarray(M, dtype=np.float64)
            r, c = np.nonzero(M)
            rows.append(r0 + r), cols.append(c0 + c), vals.append(M[r, c])
            if not lateral:
                rows.append(c0 + c), cols.append(r0 + r), vals.append(M[r, c])
        for r, c, v in sparse:
            v = np.asarray(v, dtype=np.float64)
            rows += [r, c]
            cols += [c, r]
            vals += [v, v]
        if not vals:
            return scipy.sparse.csr_matrix((n, n))
        entries = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
        return scipy.sparse.csr_matrix(entries, shape=(n, n))
    J = np.zeros((n, n))
    for r0, c0, M, lateral in dense:
        M = np.asarray(M, dtype=np.float64)
        J[r0 : r0 + M.shape[0], c0 : c0 + M.shape[1]] += M
        if not lateral:
            J[c0 : c0 + M.shape[1], r0 : r0 + M.shape[0]] += M.T
    for r, c, v in sparse:
        np.add.at(J, (r, c), v)
        np.add.at(J, (c, r), v)
    return J


class Coupling:
    """A coupling between layers ``a`` (rows) and ``b`` (columns): dense or sparse.

    ``type`` is "undirected", "lateral" (``a`` is ``b``, symmetric, each pair counted
    once), "directed" (``a`` is the parent) or "stencil" (a lattice layer's bonds to its
    nearest neighbours, ``W`` one coupling or one per bond). A dense coupling holds ``W``
    (also ``values``); a sparse one ``values`` with layer-relative column indices ``rows``
    and ``cols_`` per entry and ``edges`` (the graph edge of each entry).

    Built by the compiler (``program.couplings``); ``values`` is the array in
    ``program.params[key]``.

    Parameters
    ----------
    spec : graphmrf.validate.CouplingSpec
        The validated coupling.
    layers : list of Layer
        The Program's layers (``spec.a`` and ``spec.b`` index them).
    backend : Backend
        Where the weights live.
    dtype : dtype
        Their float type.

    Examples
    --------
    >>> import graphmrf as gm
    >>> (c,) = gm.compile(gm.rbm(3, 2, seed=0)).couplings
    >>> c.key, c.type, c.sparse, c.W.shape
    ('v~h.weight', 'undirected', False, (3, 2))
    >>> (c,) = gm.compile(gm.ising(3, units=True)).couplings  # one node per site: sparse entries
    >>> c.type, c.sparse, c.values.shape, c.edges[0]
    ('lateral', True, (18,), ((0, 0), (0, 1), 0, 0))
    """

    def __init__(self, spec, layers, backend, dtype):
        self.key, self.type = spec.key, spec.type
        self.a, self.b = layers[spec.a], layers[spec.b]
        self.periodic = spec.periodic
        self._bonds = {}
        xp = backend.xp
        if spec.sparse:
            self.W = None
            self.values = xp.asarray(spec.values, dtype=dtype)
            self.rows, self.cols_ = np.asarray(spec.rows), np.asarray(spec.cols)
            self.edges = spec.edges
        else:
            self.W = xp.asarray(spec.weight, dtype=dtype)
            self.values = self.W
        self.backend = backend

    @property
    def sparse(self):
        """True for entries between single units (no dense matrix is stored)."""
        return self.W is None

    def bonds(self, units=False, with_axis=False):
        """A lattice coupling's bonds as index arrays ``(rows, cols)``: site ``rows[b]`` and
        its next neighbour ``cols[b]`` along one axis, axis by axis (units, or columns of
        every category for softmax sites), with their (axis, site) when asked; built once.

        Parameters
        ----------
        units : bool
            Site indices instead of columns.
        with_axis : bool
            Whether to return each bond's (axis, site) too.

        Returns
        -------
        tuple of int arrays
            See :func:`lattice_bonds`.

        Examples
        --------
        >>> import graphmrf as gm
        >>> (c,) = gm.compile(gm.ising(3)).couplings
        >>> rows, cols = c.bonds()
        >>> rows.size, (int(rows[0]), int(cols[0]))  # 2 bonds per site on a torus; site 0 to site 3
        (18, (0, 3))
        """
        key = (units, with_axis)
        if key not in self._bonds:
            self._bonds[key] = lattice_bonds(
                self.a.shape, self.periodic, 1 if units else self.a.width, with_axis=with_axis
            )
        return self._bonds[key]

    def bond_values(self):
        """The coupling of each bond of :meth:`bonds` (host float64).

        Returns
        -------
        numpy.ndarray (bonds * width,)

        Examples
        --------
        >>> import graphmrf as gm
        >>> (c,) = gm.compile(gm.ising(3, coupling=0.5)).couplings
        >>> c.bond_values()[:3]
        array([0.5, 0.5, 0.5])
        """
        W = to_host(self.W).astype(np.float64)
        sites = lattice_bonds(self.a.shape, self.periodic, 1, with_axis=True)[2]
        values = (
            np.full(sites.shape[0], W[0]) if W.size == 1 else W.reshape(len(self.a.shape), -1)[sites[:, 0], sites[:, 1]]
        )
        return np.repeat(values, self.a.width)

    def dense(self):
        """The coupling as a dense (a.cols, b.cols) matrix (a copy for sparse ones).

        Returns
        -------
        array (a.cols, b.cols)
            ``W`` itself for a dense coupling; a new symmetric matrix for a lattice.

        Examples
        --------
        >>> import graphmrf as gm
        >>> (c,) = gm.compile(gm.ising(3, coupling=0.5, units=True)).couplings
        >>> M = c.dense()
        >>> M.shape, float(M.sum())  # 18 bonds of 0.5, each once
        ((9, 9), 9.0)
        """
        if self.type == "stencil":
            xp = self.backend.xp
            rows, cols = self.bonds()
            M = np.zeros((self.a.cols, self.a.cols))
            np.add.at(M, (rows, cols), self.bond_values())
            return xp.asarray(M + M.T, dtype=self.values.dtype)
        if not self.sparse:
            return self.W
        xp = self.backend.xp
        M = xp.zeros((self.a.cols, self.b.cols), dtype=self.values.dtype)
        M[xp.asarray(self.rows), xp.asarray(self.cols_)] = self.values
        return M


class Recognition:
    """A recognition coupling of a directed net: ``R`` (``W``, child columns x parent
    columns) and ``bias`` (parent columns) of the bottom-up model
    ``q(parent | child) = sigmoid(T(child) R + bias)`` (wake-sleep). Not part of the
    energy; its arrays live in ``program.recognition_params`` under ``key`` and
    ``bias_key``.

    Parameters
    ----------
    spec : graphmrf.validate.CouplingSpec
        The validated recognition edge (``spec.a`` the child, ``spec.b`` the parent).
    layers : list of Layer
        The Program's layers.
    backend : Backend
        Where the arrays live.
    dtype : dtype
        Their float type.

    Examples
    --------
    >>> import graphmrf as gm
    >>> (r,) = gm.compile(gm.sbn([3, 2], recognition=True, seed=0)).recognition
    >>> r.key, r.bias_key, r.a.name, r.b.name, r.W.shape
    ('v=>h1.weight', 'v=>h1.bias', 'v', 'h1', (3, 2))
    """

    def __init__(self, spec, layers, backend, dtype):
        self.key = spec.key
        self.bias_key = spec.key[: -len(".weight")] + ".bias"
        self.a, self.b = layers[spec.a], layers[spec.b]  # a: the child (below), b: the parent (above)
        self.W = backend.xp.asarray(spec.weight, dtype=dtype)
        self.bias = backend.xp.asarray(spec.values, dtype=dtype)


class SparseInput:
    """Entries of sparse couplings that feed one part: ``x_part = T_src @ M^T``.

    The CSR structure is built once; each call only gathers the current weights into
    its data array, so in-place parameter updates are seen without rebuilding anything.
    """

    def __init__(self, values_of, dest_idx, src_idx, entry, n_dest, src_layer, backend):
        order = np.lexsort((src_idx, dest_idx))
        dest_idx, src_idx, entry = dest_idx[order], src_idx[order], entry[order]
        indptr = np.zeros(n_dest + 1, dtype=np.int64)
        np.add.at(indptr, dest_idx + 1, 1)
        xp = backend.xp
        idx_t = np.int32 if max(entry.size, src_layer.cols, n_dest) < 2**31 - 1 else np.int64
        self.values_of = values_of
        self.entry = xp.asarray(entry.astype(idx_t))
        vals = values_of()
        # only the source columns some entry reads are gathered (a checkerboard colour reads
        # the other colour's half of the lattice)
        lo = int(src_idx.min()) if src_idx.size else 0
        hi = int(src_idx.max()) + 1 if src_idx.size else 0
        self.cols = slice(src_layer.offset + lo, src_layer.offset + hi)
        data = vals[self.entry]
        indices = xp.asarray((src_idx - lo).astype(idx_t))
        self.M = backend.sparse.csr_matrix(
            (data, indices, xp.asarray(np.cumsum(indptr).astype(idx_t))), shape=(n_dest, hi - lo)
        )
        self.xp = xp
        self.uniform = None  # the value every entry holds, when they are all equal
        self.held = None  # the values the matrix holds, when they are not all equal

    def refresh(self):
        """Gather the current weights into the matrix. Nothing is written when none
        changed (a min and a max tell when all are equal, as on a plain lattice; a copy of
        the values otherwise), so threads sampling at once only read the matrix."""
        xp = self.xp
        vals = self.values_of()
        lo, hi = vals.min(), vals.max()
        if lo == hi:  # uniform couplings (a plain lattice): no gather, and none at all if unchanged
            if self.uniform != lo:
                self.M.data.fill(lo)
                self.uniform, self.held = lo, None
        elif self.held is None or not bool(xp.array_equal(self.held, vals)):
            xp.take(vals, self.entry, out=self.M.data)
            self.uniform, self.held = None, vals.copy()

    def apply(self, T):
        """This part's input from the source columns of ``T``."""
        self.refresh()
        # the product wants the chains as columns. A column-major state (what sample() keeps
        # for sparse models) is that already, and the input comes back in the same layout;
        # a row-major one is transposed in and out, so what follows runs on contiguous arrays
        x = (self.M @ self.xp.ascontiguousarray(T[:, self.cols].T)).T
        return x if column_major(T) else self.xp.ascontiguousarray(x)


class StencilInput:
    """A lattice layer's input from its neighbours at the part's columns: for a large part
    (a checkerboard colour) :func:`neighbour_sum` over the whole lattice, taken at the
    part; for a small one (a single site, as one-unit-at-a-time samplers ask) a gather of
    its own neighbours, found once (``coupling``: the lattice's coupling)."""

    __slots__ = ("c", "layer", "cols", "local")

    def __init__(self, coupling, part):
        self.c, self.layer, self.cols = coupling, coupling.a, part.columns
        self.local = _local_bonds(coupling, part) if part.n * 8 <= coupling.a.n else None

    @property
    def coupling(self):
        return self.c

    def apply(self, T):
        L = self.layer
        xp = self.c.backend.xp
        if self.local is None:
            x = neighbour_sum(xp, T[:, L.sl], L.shape, self.c.periodic, self.c.W, L.width)
            return x[:, self.cols]
        dest, reads, which, bond, n_dest = self.local  # x[:, dest] += J[bond] * T[:, reads[which]]
        W = self.c.W.reshape(-1)
        M = xp.zeros((reads.size, n_dest), dtype=T.dtype)  # a few entries: the part's own small matrix
        M[which, dest] = W[bond] if W.size > 1 else W[0]
        return T[:, L.offset + reads] @ M


def _local_bonds(coupling, part):
    """``(dest, src, bond)``: for each bond touching the part's sites, the part column it
    feeds, the lattice column it reads and the bond's index into the coupling array."""
    L = coupling.a
    rows, cols, where = coupling.bonds(units=True, with_axis=True)
    bond_index = where[:, 0] * L.n + where[:, 1]
    units = part.indices
    pos = np.full(L.n, -1)
    pos[units] = np.arange(units.size)
    dest, src, bond = [], [], []
    for a_end, b_end in ((rows, cols), (cols, rows)):
        hit = pos[a_end] >= 0
        for k in range(L.width):  # category k of a site reads category k of its neighbour
            dest.append(pos[a_end[hit]] * L.width + k)
            src.append(b_end[hit] * L.width + k)
            bond.append(bond_index[hit])
    dest, src, bond = np.concatenate(dest), np.concatenate(src), np.concatenate(bond)
    reads, which = np.unique(src, return_inverse=True)
    return dest, reads, which, bond, units.size * L.width


class _DenseInput:
    """``T[:, src] @ W[:, cols]`` (the part is the coupling's ``b`` side) or
    ``T[:, src] @ W[cols, :].T`` (its ``a`` side; a lateral row, contiguous)."""

    __slots__ = ("W", "src", "cols", "side_a")

    def __init__(self, coupling, src, cols, side_a):
        self.W, self.src, self.cols, self.side_a = coupling.W, src.sl, cols, side_a

    def apply(self, T):
        if self.side_a:
            return T[:, self.src] @ self.W[self.cols, :].T
        return T[:, self.src] @ self.W[:, self.cols]


class Inputs:
    """The coupling input of any part of a model's layers (see the module docstring).

    What feeds a part is structural: it is worked out the first time the part is asked
    for and kept (one short list of products per part).

    Parameters
    ----------
    layers : list of Layer
        The Program's layers.
    couplings : list of Coupling
        Its couplings.
    backend : Backend
        Where the arrays live.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
    >>> x = prog.inputs.field(np.ones((1, 5)), prog.layer_of("h"))
    >>> bool(np.allclose(x, prog.params["v~h.weight"].sum(axis=0)))
    True
    """

    def __init__(self, layers, couplings, backend):
        self.layers, self.couplings, self.backend = layers, couplings, backend
        self._kernels = {}

    def kernels(self, part):
        """The products that give ``part``'s input (built once per part).

        Parameters
        ----------
        part : Part
            The units whose input is asked for.

        Returns
        -------
        list
            Objects with ``apply(T) -> x``: a slice of a dense matrix product, a CSR product
            per source layer, or a lattice stencil.

        Examples
        --------
        >>> import graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> h = prog.blocks[1][0]
        >>> len(prog.inputs.kernels(h)), prog.inputs.kernels(h) is prog.inputs.kernels(h)
        (1, True)
        """
        found = self._kernels.get(part.key)
        if found is None:
            found = self._kernels[part.key] = self._build(part)
        return found

    def _build(self, part):
        layer = part.layer
        cols = part.columns
        pos = None
        if any(c.sparse and layer in (c.a, c.b) for c in self.couplings):
            # position of each of the layer's columns within the part (-1: not in it)
            pos = np.full(layer.cols, -1, dtype=np.int64)
            pos[cols] = np.arange(part.n * layer.width)
        kernels = []
        for c in self.couplings:
            if c.type == "directed" and c.b is not layer:
                continue
            if c.type == "stencil":
                if c.a is layer:
                    kernels.append(StencilInput(c, part))
                continue
            if not c.sparse:  # layer nodes: their parts are runs, so W's slices are views
                if c.type == "lateral":  # symmetric: a unit's input reads its row (contiguous)
                    if c.a is layer:
                        kernels.append(_DenseInput(c, c.a, cols, side_a=True))
                    continue
                if c.b is layer:
                    kernels.append(_DenseInput(c, c.a, cols, side_a=False))
                if c.a is layer and c.type == "undirected":
                    kernels.append(_DenseInput(c, c.b, cols, side_a=True))
                continue
            # sparse: both directions of an undirected coupling feed one CSR matrix when
            # they share a source layer (lateral couplings always do)
            pieces = {}
            if c.b is layer:
                sel = pos[c.cols_] >= 0
                pieces.setdefault(c.a.index, []).append((pos[c.cols_[sel]], c.rows[sel], np.flatnonzero(sel)))
            if c.a is layer and c.type != "directed":
                sel = pos[c.rows] >= 0
                pieces.setdefault(c.b.index, []).append((pos[c.rows[sel]], c.cols_[sel], np.flatnonzero(sel)))
            for src_index, found in pieces.items():
                dest = np.concatenate([p[0] for p in found])
                if dest.size:
                    src = np.concatenate([p[1] for p in found])
                    entry = np.concatenate([p[2] for p in found])
                    n_dest = part.n * layer.width
                    values = lambda c=c: c.values
                    kernels.append(SparseInput(values, dest, src, entry, n_dest, self.layers[src_index], self.backend))
        return kernels

    def field(self, T, layer):
        """Coupling input of ``layer`` (a Layer, or a Part of one) given statistics ``T``:
        an array (chains, columns of the part), fresh (the caller may overwrite it).

        Parameters
        ----------
        T : array (chains, columns)
            Statistics of the states.
        layer : Layer or Part
            Whose input.

        Returns
        -------
        array (chains, columns of the part)
            Zeros where nothing feeds the part.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.ising(3, coupling=0.5), dtype=np.float64)
        >>> prog.inputs.field(np.ones((1, 9)), prog.layers[0])  # four neighbours on a torus
        array([[2., 2., 2., 2., 2., 2., 2., 2., 2.]])
        """
        part = layer if isinstance(layer, Part) else Part(layer, 0, layer.n)
        x = None
        for kernel in self.kernels(part):
            term = kernel.apply(T)
            if x is None:
                x = term  # a fresh array from the product: no zeros, no extra pass
            else:
                x += term
        if x is None:
            x = self.backend.xp.zeros((T.shape[0], part.n * part.layer.width), dtype=T.dtype)
        return x
