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

import numpy as np

from .errors import ModelError
from .symbolic import derive

__all__ = ["Part", "Layer", "Layout"]


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

    __slots__ = ("layer", "units", "_key")

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
        self.layer, self.units, self._key = layer, units, None

    @property
    def contiguous(self):
        """True when the units are one run (their columns are a slice, views not copies)."""
        return isinstance(self.units, slice)

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
            u = (
                (self.units.start, self.units.stop)
                if self.contiguous
                else (self.units.size, hash(self.units.tobytes()))
            )
            self._key = (getattr(self.layer, "index", self.layer), u)
        return self._key

    def __repr__(self):
        name = getattr(self.layer, "name", self.layer)
        if self.contiguous:
            return f"Part({name!r}, {self.units.start}, {self.units.stop})"
        return f"Part({name!r}, units={self.units.tolist()})"


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
        self.params = {k: backend.xp.asarray(v, dtype=dtype) for k, v in source.items()}
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
    """True when two nearest neighbours of a lattice (``block_of`` shaped like it) are in one block."""
    for axis in range(block_of.ndim):
        if periodic:
            if np.any(block_of == np.roll(block_of, -1, axis=axis)):
                return True
        elif np.any(
            np.take(block_of, np.arange(block_of.shape[axis] - 1), axis)
            == np.take(block_of, np.arange(1, block_of.shape[axis]), axis)
        ):
            return True
    return False


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
        self.blocks = [tuple(Part(self.layers[p.layer], units=p.units) for p in b) for b in blocks]
        vis = np.concatenate([np.repeat(L.visible, L.width) for L in self.layers])
        #: Boolean mask over columns: True for columns of visible units.
        self.visible_mask = vis
        index_type = np.int32 if vis.size < 2**31 else np.int64  # a lattice's columns: half the memory
        self.visible_columns = np.flatnonzero(vis).astype(index_type)
        self.hidden_columns = np.flatnonzero(~vis).astype(index_type)

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
        block_of = [np.full(L.n, -1) for L in self.layers]
        for bi, b in enumerate(blocks):
            for p in b:
                bo = block_of[p.layer.index]
                if (bo[p.units] != -1).any():
                    raise ModelError(f"{where}: units of {p.layer.name!r} are in two blocks")
                bo[p.units] = bi
        for L, bo in zip(self.layers, block_of):
            if (bo == -1).any():
                raise ModelError(f"{where}: units of {L.name!r} are in no block")
        parents = {}
        for c in couplings:
            ua, ub = block_of[c.a.index], block_of[c.b.index]
            if c.type == "stencil":
                if _neighbours_share_a_block(ua.reshape(c.a.shape), c.periodic):
                    raise ModelError(f"{where}: a block holds two neighbouring sites of the lattice {c.a.name!r}")
                continue
            if c.sparse:
                ea, eb = c.rows // c.a.width, c.cols_ // c.b.width
                if np.any(ua[ea] == ub[eb]):
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
                if c.type == "directed":
                    for child, par in zip(eb, ea):
                        parents.setdefault((c.b.index, int(child)), []).append(int(ua[par]))
            elif c.type == "lateral":
                if np.unique(ua).size != ua.size:
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
            else:
                if np.intersect1d(ua, ub).size:
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
                if c.type == "directed":
                    if np.unique(ua).size != ua.size:
                        raise ModelError(f"{where}: a block holds two co-parents through {c.key}")
                    parents.setdefault((c.b.index, None), []).extend(ua.tolist())
        for bl in parents.values():
            if len(set(bl)) != len(bl):
                raise ModelError(f"{where}: a block holds two parents of one child")
