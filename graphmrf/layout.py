r"""Where every unit lives: layers, their columns in a state, and the blocks of units
updated together.

A state is one array of shape (chains, columns). Each :class:`Layer` -- a layer node, or
a run of consecutive single-unit nodes of one kind -- owns a contiguous slice of columns
(a softmax unit owns K one-hot columns), in the order the nodes were declared: every
array a user passes in or gets back lists the units in that order. A :class:`Part` is a
set of units of one layer (a run, or any set: a colour class of a unit-level graph), and a
block is a tuple of parts that are conditionally independent given the rest.

>>> import graphmrf as gm
>>> layout = gm.compile(gm.rbm(3, 2, seed=0)).layout
>>> layout.n_columns, [L.name for L in layout.layers], layout.columns("h")
(5, ['v', 'h'], slice(3, 5, None))
>>> [[str(p) for p in b] for b in layout.blocks]
[["Part('v', 0, 3)"], ["Part('h', 0, 2)"]]
"""

import functools

import numpy as np

from .errors import ModelError
from .symbolic import derive

__all__ = ["Part", "Layer", "Layout", "checkerboard_sites"]


class Part:
    """Units of one layer that are updated together in a block: a run ``start:stop``
    (``Part(layer, start, stop)``) or any sorted set of unit indices
    (``Part(layer, units=[0, 2, 5])``, what the colouring of a unit-level graph gives,
    since units keep their declared order).

    A run keeps its columns a slice (every read and write a view); a set of units given
    as ``units`` that happens to be a run becomes one.

    Parameters
    ----------
    layer : Layer
        The layer (anything with ``name``, ``n`` and ``width``).
    start, stop : int
        The run of units ``start:stop`` (by default the whole layer).
    units : sequence of int or slice, optional
        The units instead, in any order (kept sorted and distinct).

    Examples
    --------
    >>> class L:  # anything with a name, n and width stands for a layer here
    ...     name, n, width = "v", 6, 2
    >>> Part(L, units=[1, 2, 3]).columns, Part(L, units=[0, 2]).columns.tolist()
    (slice(2, 8, None), [0, 1, 4, 5])
    """

    __slots__ = ("layer", "_units", "_key", "_sites")

    def __init__(self, layer, start=0, stop=None, units=None):
        if units is None:
            units = slice(int(start), int(layer.n if stop is None else stop))
        elif not isinstance(units, slice):  # an index array: kept as a slice where it is a run
            idx = np.asarray(units).reshape(-1)
            if idx.dtype.kind not in "iu":
                idx = idx.astype(np.int64)
            if idx.size > 1 and not np.all(idx[1:] > idx[:-1]):  # sorted and distinct already: no work
                idx = np.unique(idx)
            if idx.size and idx[-1] - idx[0] + 1 == idx.size:  # a run: a slice, a view
                units = slice(int(idx[0]), int(idx[-1]) + 1)
            else:
                units = idx
        self.layer, self._units, self._key, self._sites = layer, units, None, None

    @classmethod
    def checkerboard(cls, layer, shape, colour):
        """The sites of one colour of a lattice's checkerboard: those whose coordinates sum
        to ``colour`` mod 2 (row-major site indices). A colour class of the lattice's
        nearest-neighbour graph when the lattice is open or its sides are even.

        On a large lattice the units are found when first read (:func:`checkerboard_sites`);
        the part knows its size, its key and its place in a valid colouring without them.

        Parameters
        ----------
        layer : Layer or int
            The lattice layer (the compiler passes its index).
        shape : tuple of int
            The lattice's sides.
        colour : {0, 1}
            The parity of the coordinates' sum.

        Returns
        -------
        Part

        Examples
        --------
        >>> class L:
        ...     name, n, width = "s", 6, 1
        >>> Part.checkerboard(L, (2, 3), 1).units.tolist()
        [1, 3, 5]
        >>> big = Part.checkerboard(L, (64, 64), 0)
        >>> big, big.n, big.units[:3].tolist()
        (Part.checkerboard('s', (64, 64), 0), 2048, [0, 2, 4])
        """
        shape, colour = tuple(int(k) for k in shape), int(colour)
        n = int(np.prod(shape))
        if n < 64:  # small: the units now, through the usual path (a class of two sites may be a run)
            part = cls(layer, units=checkerboard_sites(shape, colour))
        else:  # no colour class of six sites or more is a run, so the part is an index set
            part = cls.__new__(cls)
            part.layer, part._units, part._key = layer, None, None
        part._sites = (shape, colour)
        return part

    def on(self, layer):
        """The same units of another layer object (what the compiler's parts become once
        the layout's layers exist), without checking them again.

        Parameters
        ----------
        layer : Layer
            The layer.

        Returns
        -------
        Part

        Examples
        --------
        >>> class L:
        ...     name, n, width = "v", 6, 1
        >>> Part(0, units=[0, 2]).on(L)
        Part('v', units=[0, 2])
        """
        part = type(self).__new__(type(self))
        part.layer, part._units, part._key, part._sites = layer, self._units, None, self._sites
        return part

    @property
    def units(self):
        """The units, ascending: a slice for a run, else an int array."""
        if self._units is None:  # a checkerboard colour of a large lattice, read for the first time
            self._units = checkerboard_sites(*self._sites)
        return self._units

    @property
    def checkerboard_colour(self):
        """0 or 1 when the part was made by :meth:`checkerboard` (one colour of its lattice's
        checkerboard, known without reading its units), else None.

        Examples
        --------
        >>> import graphmrf as gm
        >>> [p.checkerboard_colour for (p,) in gm.compile(gm.ising(16)).blocks]
        [0, 1]
        """
        return None if self._sites is None else self._sites[1]

    @property
    def contiguous(self):
        """True when the units are one run (their columns are a slice, views not copies)."""
        return isinstance(self._units, slice)

    @property
    def start(self):
        """The first unit."""
        return self.units.start if self.contiguous else int(self.units[0])

    @property
    def stop(self):
        """One past the last unit."""
        return self.units.stop if self.contiguous else int(self.units[-1]) + 1

    @property
    def n(self):
        """Number of units."""
        if self._units is None:  # a checkerboard colour: the even sites are one more when every side is odd
            n = int(np.prod(self._sites[0]))
            return (n + 1 - self._sites[1]) // 2
        return self.units.stop - self.units.start if self.contiguous else int(self.units.size)

    @property
    def whole(self):
        """True when the part is its whole layer."""
        return self.contiguous and self.units.start == 0 and self.units.stop == self.layer.n

    @property
    def indices(self):
        """The unit indices as an int array."""
        return np.arange(self.units.start, self.units.stop) if self.contiguous else self.units

    @property
    def columns(self):
        """Columns of this part, relative to its layer: a slice, or an int array."""
        w = self.layer.width
        if self.contiguous:
            return slice(self.units.start * w, self.units.stop * w)
        if w == 1:
            return self.units
        return (self.units[:, None].astype(np.int64) * w + np.arange(w)[None, :]).reshape(-1)

    @property
    def key(self):
        """A hashable identity (layer and units), for structural caches."""
        if self._key is None:
            if self._sites is not None:  # a checkerboard colour: its lattice and colour say which units
                u = ("checkerboard",) + self._sites
            elif self.contiguous:
                u = (self.units.start, self.units.stop)
            else:
                u = (self.units.size, hash(self.units.tobytes()))
            self._key = (getattr(self.layer, "index", self.layer), u)
        return self._key

    def __repr__(self):
        name = getattr(self.layer, "name", self.layer)
        if self._sites is not None and int(np.prod(self._sites[0])) >= 64:  # not its millions of units
            return f"Part.checkerboard({name!r}, {self._sites[0]}, {self._sites[1]})"
        if self.contiguous:
            return f"Part({name!r}, {self.units.start}, {self.units.stop})"
        return f"Part({name!r}, units={self.units.tolist()})"


def checkerboard_sites(shape, colour):
    """The sites of a lattice of ``shape`` (row-major indices) whose coordinates sum to
    ``colour`` mod 2, ascending: along each row of the last axis every other site, from
    the row's first site of that colour -- found by arithmetic, never by a search over a
    mask of the lattice.

    Parameters
    ----------
    shape : tuple of int
        The lattice's sides.
    colour : {0, 1}
        The parity.

    Returns
    -------
    int array
        int32 below 2**31 sites (half the memory of int64), else int64.

    Examples
    --------
    >>> checkerboard_sites((3, 3), 0).tolist(), checkerboard_sites((2, 4), 1).tolist()
    ([0, 2, 4, 6, 8], [1, 3, 4, 6])
    """
    shape = tuple(int(k) for k in shape)
    n = int(np.prod(shape))
    index_type = np.int32 if n < 2**31 else np.int64
    last = shape[-1]
    lead = np.zeros(shape[:-1], dtype=np.int8)  # the parity of each row's leading coordinates
    for axis, k in enumerate(shape[:-1]):
        lead ^= (np.arange(k, dtype=np.int8) % 2).reshape([k if a == axis else 1 for a in range(len(shape) - 1)])
    first = lead.reshape(-1) ^ np.int8(colour)  # each row's first column of this colour: 0 or 1
    starts = np.arange(first.size, dtype=index_type) * index_type(last) + first.astype(index_type)
    per_row = (last + 1) // 2
    sites = starts[:, None] + np.arange(0, 2 * per_row, 2, dtype=index_type)[None, :]
    if last % 2 == 0:
        return sites.reshape(-1)
    keep = np.ones(sites.shape, dtype=bool)  # odd rows: a row starting at column 1 has one site fewer
    keep[first == 1, -1] = False
    return sites[keep]


def _param_array(xp, values, dtype):
    """A layer parameter on the backend in ``dtype``, flat: a read-only view from validation
    (of the declared values) becomes a fresh writable copy, and a number given for the whole
    layer is filled in, in ``dtype`` directly."""
    if isinstance(values, np.ndarray) and not values.flags.writeable:
        if values.size and not any(values.strides):
            value = values.reshape(-1)[0]
            if value == 0:  # zeroed pages from the system, touched only when used
                return xp.zeros(values.size, dtype=dtype)
            return xp.full(values.size, value, dtype=dtype)
        return xp.array(values, dtype=dtype).reshape(-1)  # a copy: the declared values stay the graph's
    return xp.asarray(values, dtype=dtype)


class Layer:
    """A run of columns holding units of one kind (a layer node, or consecutive single
    units), with the kind's numeric functions (``ops``) and its parameters (``params``,
    arrays on the Program's backend; the Program's ``params`` dict holds the same arrays).

    Built by the compiler; users read it (``program.layers``), never build it.

    Parameters
    ----------
    spec : graphmrf.validate.LayerSpec
        The validated layer.
    index : int
        Its position in ``program.layers``.
    offset : int
        Its first column in a state.
    backend : Backend
        Where its parameters live.
    dtype : dtype
        Their float type.
    params : dict of arrays, optional
        Its parameters (instead of the spec's).

    Examples
    --------
    >>> import graphmrf as gm
    >>> v, h = gm.compile(gm.rbm(3, 2, seed=0)).layers
    >>> h, h.sl, h.kind.name, sorted(h.params)
    (Layer('h', kind='binary', n=2), slice(3, 5, None), 'binary', ['bias'])
    """

    def __init__(self, spec, index, offset, backend, dtype, params=None):

        self.index = index
        self.name, self.nodes, self.declared = spec.name, list(spec.nodes), spec.declared
        self.kind, self.n, self.width = spec.kind, spec.n, spec.width
        self.cols = spec.n * spec.width
        self.offset = offset
        self.sl = slice(offset, offset + self.cols)
        self.visible = np.asarray(spec.visible, dtype=bool)
        self.directed = spec.directed
        self.lateral = spec.lateral
        self.shape = spec.shape  # a lattice layer's sides (None for others)
        self.ops = derive(spec.kind).numeric(backend.xp)
        source = spec.params if params is None else params
        self.params = {k: _param_array(backend.xp, v, dtype) for k, v in source.items()}
        self.children = []  # directed couplings where this layer is the parent

    def p(self, cols=slice(None)):
        """This layer's parameters restricted to columns ``cols`` (views for a slice).

        Parameters
        ----------
        cols : slice or int array
            Columns relative to the layer (a :attr:`Part.columns`).

        Returns
        -------
        dict of arrays
            Keyed by the kind's internal parameter names.

        Examples
        --------
        >>> import graphmrf as gm
        >>> v = gm.compile(gm.rbm(3, 2, seed=0)).layers[0]
        >>> v.p(slice(0, 2))
        {'bias': array([0., 0.], dtype=float32)}
        """
        return {k: v[cols] for k, v in self.params.items()}

    def __repr__(self):
        return f"Layer({self.name!r}, kind={self.kind.name!r}, n={self.n})"


def _neighbours_share_a_block(block_of, periodic):
    """True when two nearest neighbours of a lattice (``block_of`` shaped like it) are in one
    block: each axis's neighbouring slices compared as views (and, on a torus, the last face
    with the first), no shifted copy of the lattice."""
    for axis in range(block_of.ndim):
        k = block_of.shape[axis]

        def face(sl, axis=axis):
            return block_of[(slice(None),) * axis + (sl,)]

        if k > 1 and np.any(face(slice(0, k - 1)) == face(slice(1, k))):
            return True
        if periodic and np.any(face(k - 1) == face(0)):  # the bond that wraps around (a side of 1: to itself)
            return True
    return False


def _checkerboard_blocks(layer, found):
    """``(block of colour 0, block of colour 1)`` when a lattice layer's parts ``found``
    (``(block, part)`` pairs) are exactly the two colours of its checkerboard, else None."""
    if layer.shape is None or len(found) != 2:
        return None
    sites = [p._sites for _, p in found]
    if any(s is None or s[0] != tuple(layer.shape) for s in sites) or {s[1] for s in sites} != {0, 1}:
        return None
    by_colour = sorted((s[1], bi) for s, (bi, _) in zip(sites, found))
    return by_colour[0][1], by_colour[1][1]


def _columns_where(layers, visible):
    """The columns of units whose visibility is ``visible``, ascending: a layer that is all
    of one side gives a range or nothing, with no search over its columns."""
    index_type = np.int32 if sum(L.cols for L in layers) < 2**31 else np.int64  # a lattice's: half the memory
    pieces = []
    for L in layers:
        mine = (
            L.visible == visible
            if any(L.visible.strides)
            else np.broadcast_to(L.visible[:1] == visible, L.visible.shape)
        )
        if not any(mine.strides):  # one value for the whole layer (as declared)
            if mine.size and mine[0]:
                pieces.append(np.arange(L.sl.start, L.sl.stop, dtype=index_type))
            continue
        units = np.flatnonzero(mine)
        cols = (units[:, None] * L.width + np.arange(L.width)).reshape(-1) if L.width > 1 else units
        pieces.append((cols + L.offset).astype(index_type))
    if len(pieces) == 1:
        return pieces[0]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=index_type)


class Layout:
    """The layers of a model laid out as columns, node lookup, and the blocks.

    Parameters
    ----------
    spec : graphmrf.validate.ModelSpec
        The validated model (layers in declared order).
    blocks : list of lists of Part
        Parts whose ``layer`` is a layer index (what the compiler's colouring gives).
    backend, dtype
        Where the layers' parameters live.
    params : list of dicts, optional
        Each layer's parameters (instead of the spec's: a copy of a Program in another
        float type or backend starts from the current values).

    Examples
    --------
    >>> import graphmrf as gm
    >>> layout = gm.compile(gm.ising(3, units=True)).layout
    >>> len(layout.blocks), layout.blocks[0]
    (3, (Part('units[spin]', units=[0, 5, 7]),))
    >>> layout.visible_columns.tolist() == list(range(9))
    True
    """

    def __init__(self, spec, blocks, backend, dtype, params=None):
        self.spec = spec
        self.layers, off = [], 0
        for i, ls in enumerate(spec.layers):
            L = Layer(ls, i, off, backend, dtype, None if params is None else params[i])
            self.layers.append(L)
            off += L.cols
        self.n_columns = off
        self.blocks = [tuple(p.on(self.layers[p.layer]) for p in b) for b in blocks]

    # the column lists are made when first read: for a lattice each is an array the size of its state

    @functools.cached_property
    def visible_mask(self):
        """Boolean mask over columns: True for columns of visible units."""
        vis = np.empty(self.n_columns, dtype=bool)
        for L in self.layers:
            vis[L.sl] = L.visible if L.width == 1 else np.repeat(L.visible, L.width)
        return vis

    @functools.cached_property
    def visible_columns(self):
        """The columns of visible units, ascending (int32 below 2**31 columns)."""
        return _columns_where(self.layers, True)

    @functools.cached_property
    def hidden_columns(self):
        """The columns of hidden units, ascending (int32 below 2**31 columns)."""
        return _columns_where(self.layers, False)

    def columns(self, node):
        """Column slice (into a state) of a layer node or a single unit node.

        Parameters
        ----------
        node : node
            A node of the declared graph.

        Returns
        -------
        slice

        Raises
        ------
        KeyError
            If the model has no such node.

        Examples
        --------
        >>> import graphmrf as gm
        >>> gm.compile(gm.ising(3, units=True)).layout.columns((1, 1))
        slice(4, 5, None)
        """
        if node not in self.spec.unit_index:
            raise KeyError(f"node {node!r}: not in this model")
        li, u = self.spec.unit_index[node]
        L = self.layers[li]
        if L.declared:
            return L.sl
        return slice(L.offset + u * L.width, L.offset + (u + 1) * L.width)

    def layer_of(self, node):
        """The :class:`Layer` holding ``node``.

        Parameters
        ----------
        node : node
            A node of the declared graph.

        Returns
        -------
        Layer
            The node's own layer, or the run of single-unit nodes it belongs to.

        Raises
        ------
        KeyError
            If the model has no such node.

        Examples
        --------
        >>> import graphmrf as gm
        >>> gm.compile(gm.ising(3, units=True)).layout.layer_of((1, 1))
        Layer('units[spin]', kind='spin', n=9)
        """
        if node not in self.spec.unit_index:
            raise KeyError(f"node {node!r}: not in this model")
        return self.layers[self.spec.unit_index[node][0]]

    def part_columns(self, part):
        """Columns of a part in a state: a slice, or an int array for a set of units.

        Parameters
        ----------
        part : Part
            Units of one of this layout's layers.

        Returns
        -------
        slice or int array
            Absolute columns (the part's columns shifted by its layer's offset).

        Examples
        --------
        >>> import graphmrf as gm
        >>> layout = gm.compile(gm.rbm(3, 2, seed=0)).layout
        >>> v, h = layout.layers
        >>> layout.part_columns(Part(h)), layout.part_columns(Part(v, units=[0, 2])).tolist()
        (slice(3, 5, None), [0, 2])
        """
        cs = part.columns
        if part.contiguous:
            return slice(part.layer.offset + cs.start, part.layer.offset + cs.stop)
        return part.layer.offset + cs

    def check_blocks(self, blocks, couplings, where="compile"):
        """Raise :class:`ModelError` unless every unit is in exactly one part of
        ``blocks`` and no two units of a block are coupled (in the moral graph, for a
        directed net: co-parents of a child are coupled).

        Cost: one pass over the couplings' entries (a comparison per bond or edge).

        Parameters
        ----------
        blocks : list of tuples of Part
            The blocks to check.
        couplings : list of Coupling
            The model's couplings.
        where : str
            What is checking, for the message.

        Raises
        ------
        ModelError
            If a unit is in no block or in two, or a block holds two coupled units (or two
            parents of one child); the message names the layer or the coupling.

        Examples
        --------
        >>> import graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> v, h = prog.layers
        >>> prog.layout.check_blocks([(Part(v),), (Part(h),)], prog.couplings)  # the compiled blocks: fine
        >>> prog.layout.check_blocks([(Part(v),)], prog.couplings)
        Traceback (most recent call last):
        ...
        graphmrf.errors.ModelError: compile: units of 'h' are in no block
        """
        found = [[] for _ in self.layers]  # (block, part) of each layer
        for bi, b in enumerate(blocks):
            for p in b:
                found[p.layer.index].append((bi, p))
        # a lattice's two checkerboard colours cover it once and hold no two neighbours (open,
        # or even sides): no array over its sites is needed to know it
        boards = {L.index: _checkerboard_blocks(L, f) for L, f in zip(self.layers, found)}
        index_type = np.int32 if len(blocks) < 2**31 else np.int64
        block_of = {}

        def blocks_of(L):  # the block of each unit of L (checked: every unit in exactly one)
            if L.index not in block_of:
                bo = np.full(L.n, -1, dtype=index_type)
                for bi, p in found[L.index]:
                    if (bo[p.units] != -1).any():
                        raise ModelError(f"{where}: units of {L.name!r} are in two blocks")
                    bo[p.units] = bi
                if (bo == -1).any():
                    raise ModelError(f"{where}: units of {L.name!r} are in no block")
                block_of[L.index] = bo
            return block_of[L.index]

        for L in self.layers:
            if boards[L.index] is None:
                blocks_of(L)
        parents = []  # (child layer, child or -1 for a whole layer, block of a parent) per parent
        for c in couplings:
            if c.type == "stencil":
                board = boards[c.a.index]
                bipartite = not c.periodic or all(k % 2 == 0 for k in c.a.shape)
                if board is not None and board[0] != board[1] and bipartite:
                    continue
                if _neighbours_share_a_block(blocks_of(c.a).reshape(c.a.shape), c.periodic):
                    raise ModelError(f"{where}: a block holds two neighbouring sites of the lattice {c.a.name!r}")
                continue
            ua, ub = blocks_of(c.a), blocks_of(c.b)
            if c.sparse:
                ea, eb = c.rows // c.a.width, c.cols_ // c.b.width
                if np.any(ua[ea] == ub[eb]):
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
                if c.type == "directed":
                    parents.append(np.stack([np.full(eb.size, c.b.index), eb, ua[ea]], axis=1))
            elif c.type == "lateral":
                if np.unique(ua).size != ua.size:
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
            else:
                if np.intersect1d(ua, ub).size:
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
                if c.type == "directed":
                    if np.unique(ua).size != ua.size:
                        raise ModelError(f"{where}: a block holds two co-parents through {c.key}")
                    parents.append(np.stack([np.full(ua.size, c.b.index), np.full(ua.size, -1), ua], axis=1))
        if parents:  # two parents of one child in one block: a repeated (child, block) pair
            pairs = np.unique(np.concatenate(parents).astype(np.int64), axis=0)
            if pairs.shape[0] != sum(p.shape[0] for p in parents):
                raise ModelError(f"{where}: a block holds two parents of one child")
