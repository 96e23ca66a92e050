r"""The compiled form of a model: parameters, layout, coupling kernels, and the batched
operations every sampler, enumerator and learning rule needs.

A Program is a few small objects with one job each, behind one surface:

* its :class:`~graphmrf.layout.Layout` -- layers as columns of a state array (chains,
  columns) in the declared node order, and the blocks of conditionally independent units;
* its couplings and their :class:`~graphmrf.couplings.Inputs` -- each part's input
  ``x = sum_j W_ij T(s_j)``;
* ``params``, a dict of arrays updated in place (nothing is recompiled when they change).

On that surface, batched over chains on axis 0:

* :meth:`Program.energy` ``E(s)``; for a directed net ``E(s) = -log p(s)`` (so ``Z = 1``),
  and for a DBN the top pair contributes its RBM energy, so ``p(s) = exp(-E(s)) / Z``
  holds for every model;
* :meth:`Program.free_energy` ``F(v) = -log sum_h exp(-E(v, h))`` with the hidden units
  summed analytically;
* :meth:`Program.part_conditional` / :meth:`Program.update_part` (the conditional of a
  part given the rest and an in-place draw from it, :mod:`graphmrf.conditionals`),
  :meth:`Program.conditional` and :meth:`Program.sample_block` per block;
* :meth:`Program.sufficient_stats`: ``-dE/dtheta`` averaged over a batch
  (:mod:`graphmrf.statistics`).

Scratch memory belongs to the caller of a hot loop (a :class:`~graphmrf.workspace.Workspace`),
never to the Program.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
>>> s = np.zeros((1, prog.n_columns))
>>> float(prog.energy(s)[0]) == 0.0
True
>>> prog.params["v.bias"][:] = 1.0
>>> float(prog.free_energy(np.ones((1, 5)))[0] + 3 + 2 * np.log(2)) < 1e-3
True
"""

import dataclasses

import numpy as np

from . import conditionals, parameters, statistics
from .backend import as_generator, get_backend, to_host
from .couplings import Coupling, Inputs, Recognition, neighbour_sum, symmetric_matrix
from .errors import ModelError
from .kinds import S
from .layout import Layer, Layout, Part

__all__ = ["Program", "Part", "Layer", "Coupling"]


class Program:
    """A compiled model; see the module docstring. Built by :func:`graphmrf.compile`.

    Attributes
    ----------
    params : dict of arrays
        Every parameter (layer biases and scales, coupling weights), updated in place.
    layers, couplings, blocks
        Read-only descriptions of the layout (see :mod:`graphmrf.layout`).
    n_columns : int
        Columns of a state.
    visible_columns, hidden_columns : int arrays; visible_mask : bool array
    backend, xp, dtype
        Where the arrays live and their float type.
    rng : Generator
        The default generator (``compile(..., seed=...)``).

    Parameters
    ----------
    spec : graphmrf.validate.ModelSpec
        The validated model.
    blocks : list of lists of Part
        The update blocks (the compiler's colouring), checked here: every unit once, each
        block an independent set.
    backend : Backend
        Where the arrays live.
    dtype : dtype
        The float type of states and parameters.
    seed : int or Generator, optional
        The default generator's seed.
    params : list of dicts, optional
        Each layer's parameters, instead of the spec's.

    Raises
    ------
    ModelError
        If the blocks leave a unit out, hold one twice, or put two coupled units together.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
    >>> prog
    Program([v:binaryx3, h:binaryx2], blocks=2, backend='numpy', dtype=float64)
    >>> sorted(prog.params), prog.n_columns, prog.visible_columns.tolist()
    (['h.bias', 'v.bias', 'v~h.weight'], 5, [0, 1, 2])
    """

    def __init__(self, spec, blocks, backend, dtype, seed=None, params=None):
        self.spec = spec
        self.graph = spec.graph
        self.backend = backend
        self.xp = backend.xp
        self.dtype = np.dtype(dtype)
        self.directed = spec.directed
        self._block_spec = blocks
        self.layout = Layout(spec, blocks, backend, self.dtype, params)
        self.layers, self.blocks, self.n_columns = self.layout.layers, self.layout.blocks, self.layout.n_columns
        self.couplings = [Coupling(c, self.layers, backend, self.dtype) for c in spec.couplings]
        for c in self.couplings:
            if c.type == "directed":
                c.a.children.append(c)
        self.inputs = Inputs(self.layers, self.couplings, backend)
        self.params = {f"{L.name}.{k}": v for L in self.layers for k, v in L.params.items()}
        self.params.update({c.key: c.values for c in self.couplings})
        #: recognition couplings of a directed net (wake-sleep's bottom-up model; no energy)
        self.recognition = [Recognition(r, self.layers, backend, self.dtype) for r in spec.recognition]
        #: their weights and biases, updated in place like ``params``
        self.recognition_params = {k: v for r in self.recognition for k, v in ((r.key, r.W), (r.bias_key, r.bias))}
        self.rng = as_generator(seed, backend)
        for ls in spec.layers:  # the layers hold the parameters now (a lattice's are the size of its state)
            ls.params = {k: None for k in ls.params}
        #: True when every kind's coupling statistic is the state itself (T(s) = s)
        self.identity_statistic = all(L.kind.statistic == S for L in self.layers)
        #: the RBM-like shortcut of :func:`graphmrf.statistics.direct_statistics`, or None
        self.direct_statistics = statistics.direct_statistics(self)
        self._independence = {}  # structural answers of independent(), per column mask
        self._float64 = None  # (snapshot of the parameters, float64 host copy) for exact sums
        self.layout.check_blocks(self.blocks, self.couplings)

    def __repr__(self):
        kinds = ", ".join(f"{L.name}:{L.kind.name}x{L.n}" for L in self.layers)
        return f"Program([{kinds}], blocks={len(self.blocks)}, backend={self.backend.name!r}, dtype={self.dtype})"

    @property
    def device(self):
        """Where the arrays live, in words ("cpu", "cuda:0 (...)")."""
        return self.backend.device

    @property
    def visible_mask(self):
        """Bool array (columns,): True at the columns of visible units (made when first read)."""
        return self.layout.visible_mask

    @property
    def visible_columns(self):
        """Int array: the columns of visible units, ascending."""
        return self.layout.visible_columns

    @property
    def hidden_columns(self):
        """Int array: the columns of hidden units, ascending."""
        return self.layout.hidden_columns

    # ------------------------------------------------------------------ layout
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
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.columns("h")
        slice(3, 5, None)
        """
        return self.layout.columns(node)

    def layer_of(self, node):
        """The :class:`~graphmrf.layout.Layer` holding ``node``.

        Parameters
        ----------
        node : node
            A node of the declared graph.

        Returns
        -------
        Layer

        Raises
        ------
        KeyError
            If the model has no such node.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.layer_of("v")
        Layer('v', kind='binary', n=3)
        """
        return self.layout.layer_of(node)

    def part_columns(self, part):
        """Columns of a part in a state: a slice, or an int array for a set of units.

        Parameters
        ----------
        part : Part
            Units of one of the Program's layers.

        Returns
        -------
        slice or int array

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.part_columns(prog.blocks[1][0])
        slice(3, 5, None)
        """
        return self.layout.part_columns(part)

    def block(self, block):
        """The parts of block ``block`` (an index into ``blocks``, or a tuple of parts).

        Parameters
        ----------
        block : int or tuple of Part
            An index into ``program.blocks``, or a block of the caller's own.

        Returns
        -------
        tuple of Part

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.block(1)
        (Part('h', 0, 2),)
        """
        return self.blocks[block] if isinstance(block, (int, np.integer)) else block

    def check_blocks(self, blocks):
        """Raise :class:`ModelError` unless ``blocks`` cover every unit once and each is a
        set of conditionally independent units (what a user's own blocks must be).

        Parameters
        ----------
        blocks : sequence of sequences of Part
            A user's blocks (e.g. for :class:`graphmrf.samplers.Gibbs`).

        Raises
        ------
        ModelError
            If a unit is in no block or in two, or a block holds two coupled units.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> from graphmrf.layout import Part
        >>> v, h = prog.layers
        >>> prog.check_blocks([[Part(v)], [Part(h)]])  # the usual blocks of an RBM
        >>> prog.check_blocks([[Part(v), Part(h)]])
        Traceback (most recent call last):
        ...
        graphmrf.errors.ModelError: blocks: a block holds two units coupled by v~h.weight; ...
        """
        try:
            self.layout.check_blocks([tuple(b) for b in blocks], self.couplings, where="blocks")
        except ModelError as exc:
            raise ModelError(
                f"{exc}; every unit must be in exactly one block, and units updated together must be conditionally "
                "independent"
            ) from None

    # ------------------------------------------------------------------ parameters
    def get(self, item, name):
        """Value of parameter ``name`` of a node or an edge, in the graph's units (see
        :func:`graphmrf.parameters.get`).

        Parameters
        ----------
        item : node or (node, node)
            A node, or an edge by its two end nodes (rows of the result index the first).
        name : str
            ``"bias"``, ``"sigma"`` or ``"weight"``.

        Returns
        -------
        float or numpy.ndarray
            A float64 copy.

        Raises
        ------
        KeyError
            If the node, the edge or the parameter is not in the model.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.get("h", "bias").tolist(), prog.get(("h", "v"), "weight").shape
        ([0.0, 0.0], (2, 3))
        """
        return parameters.get(self, item, name)

    def to_graph(self):
        """A copy of the declared graph with the current parameters written back.

        See :func:`graphmrf.parameters.to_graph`.

        Returns
        -------
        networkx.Graph or networkx.DiGraph

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.params["h.bias"][:] = [1.0, 2.0]
        >>> prog.to_graph().nodes["h"]["bias"].tolist()
        [1.0, 2.0]
        """
        return parameters.to_graph(self)

    def copy(self):
        """An independent Program of the same model: the same layout, backend and float
        type, a copy of the current parameters (recognition weights included), built without
        a round trip through the graph. Algorithms that move the parameters along a path
        (AIS) work on one.

        Returns
        -------
        Program

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> twin = prog.copy()
        >>> twin.params["h.bias"][:] = 5.0
        >>> prog.params["h.bias"].tolist() == [0.0, 0.0], twin.dtype, bool(np.allclose(twin.energy(
        ...     np.ones((1, 5))), prog.energy(np.ones((1, 5))) - 10))
        (True, dtype('float64'), True)
        """
        layer_params = [{k: to_host(v).copy() for k, v in L.params.items()} for L in self.layers]

        def own_arrays(c):  # a coupling's arrays may be the very arrays this Program updates
            arrays = {f.name: getattr(c, f.name) for f in dataclasses.fields(c)}
            return dataclasses.replace(c, **{k: v.copy() for k, v in arrays.items() if isinstance(v, np.ndarray)})

        spec = dataclasses.replace(
            self.spec,
            couplings=[own_arrays(c) for c in self.spec.couplings],
            recognition=[own_arrays(r) for r in self.spec.recognition],
        )
        twin = Program(spec, self._block_spec, self.backend, self.dtype, params=layer_params)
        for k, v in self.params.items():
            twin.params[k][...] = v
        for k, v in self.recognition_params.items():
            twin.recognition_params[k][...] = v
        return twin

    def float64(self):
        """This model as a float64 NumPy Program (itself when it is one): exact sums run
        on it. The copy shares the layout and is refreshed only when a parameter (or a
        recognition weight) changed since the last call (one comparison per array).

        Returns
        -------
        Program

        Examples
        --------
        >>> import graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))  # float32
        >>> exact = prog.float64()
        >>> exact.dtype, exact is prog.float64()
        (dtype('float64'), True)
        >>> prog.params["h.bias"][:] = 1.0
        >>> prog.float64() is exact, prog.float64().params["h.bias"].tolist()
        (False, [1.0, 1.0])
        """
        if self.backend.name == "numpy" and self.dtype == np.float64:
            return self
        current = {k: to_host(v) for k, v in self.params.items()}
        current.update({("recognition", k): to_host(v) for k, v in self.recognition_params.items()})
        if self._float64 is not None:
            snap, copy = self._float64
            if all(np.array_equal(snap[k], v) for k, v in current.items()):
                return copy
        layer_params = [{k: current[f"{L.name}.{k}"] for k in L.params} for L in self.layers]
        copy = Program(self.spec, self._block_spec, get_backend("numpy"), np.float64, params=layer_params)
        for k, v in current.items():
            target = copy.recognition_params[k[1]] if isinstance(k, tuple) else copy.params[k]
            target[...] = v
        self._float64 = ({k: v.copy() for k, v in current.items()}, copy)
        return copy

    # ------------------------------------------------------------------ states
    def check_shape(self, state, what="state"):
        """``state`` as an array of this backend, refusing any shape but (chains, columns).

        Only the shape is checked (:func:`graphmrf.support.check_state` checks values).

        Parameters
        ----------
        state : array-like
            States of the chains.
        what : str
            The argument's name, for the message.

        Returns
        -------
        array (chains, columns)

        Raises
        ------
        ValueError
            If the shape is not (chains, ``n_columns``).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.check_shape(np.zeros((2, 4)), what="init")
        Traceback (most recent call last):
        ...
        ValueError: init: expected shape (chains, 5); got (2, 4)
        """
        state = self.xp.asarray(state)
        if state.ndim != 2 or state.shape[1] != self.n_columns:
            raise ValueError(f"{what}: expected shape (chains, {self.n_columns}); got {tuple(state.shape)}")
        return state

    def writable(self, state, inplace=False):
        """``state`` itself when the caller lets a sampler overwrite it (and it already has
        the Program's dtype and backend, in one contiguous layout), else a fresh copy.

        Parameters
        ----------
        state : array (chains, columns)
            The chains.
        inplace : bool
            Whether the caller lets ``state`` be overwritten.

        Returns
        -------
        array (chains, columns)

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> s = np.zeros((2, 5))
        >>> prog.writable(s, inplace=True) is s, prog.writable(s) is s
        (True, False)
        """
        xp = self.xp
        contiguous = state.flags.c_contiguous or state.flags.f_contiguous if isinstance(state, xp.ndarray) else False
        if inplace and contiguous and state.dtype == self.dtype and state.flags.writeable:
            return state
        return xp.array(state, dtype=self.dtype, copy=True)

    def generator(self, seed=None):
        """The random generator a call with ``seed`` uses: ``seed``'s own (an int gives a
        fresh one, a Generator is used as is), or this Program's default generator
        (``compile(..., seed=...)``) when ``seed`` is None. Every sampling and training
        function draws through this, so two programs compiled with the same seed agree,
        and consecutive calls on one program continue its stream (they differ).

        Parameters
        ----------
        seed : None, int or Generator
            See :func:`graphmrf.backend.as_generator`.

        Returns
        -------
        Generator

        Raises
        ------
        TypeError
            If ``seed`` is not None, an int or a Generator of this backend.

        Examples
        --------
        >>> import graphmrf as gm
        >>> a, b = (gm.compile(gm.rbm(3, 2), seed=5) for _ in range(2))
        >>> bool(a.generator().random() == b.generator().random())
        True
        """
        return self.rng if seed is None else as_generator(seed, self.backend)

    def random_state(self, n_chains, seed=None):
        """A state with every unit drawn independently: uniform over a discrete support,
        ``N(bias, sigma^2)`` for real-valued units.

        Parameters
        ----------
        n_chains : int
            Rows of the state.
        seed : None, int or Generator
            See :meth:`generator`.

        Returns
        -------
        array (n_chains, columns)
            Of the Program's dtype, on its backend.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.random_state(2, seed=0)
        array([[0., 1., 1., 0., 0.],
               [1., 0., 0., 0., 0.]])
        """
        rng = self.generator(seed)
        xp = self.xp
        out = xp.empty((n_chains, self.n_columns), dtype=self.dtype)
        for L in self.layers:
            zero = xp.zeros((n_chains, L.cols), dtype=self.dtype)
            cond = L.ops.conditional(zero, {k: v * 0 for k, v in L.params.items()}, 1.0, L.width)
            if "mean" in cond:
                cond = {"mean": zero + L.params["bias"], "var": zero + xp.exp(2 * L.params.get("log_sigma", zero))}
            out[:, L.sl] = L.ops.draw(
                cond,
                lambda s: rng.random(s, dtype=self.dtype),
                lambda s: rng.standard_normal(s, dtype=self.dtype),
                L.width,
            )
        return out

    def statistic(self, state):
        """T(s): what each column contributes to couplings (s, or s/sigma for gaussian).

        When every kind's statistic is the state itself this is ``state`` (no copy):
        samplers then update one array instead of two.

        Parameters
        ----------
        state : array (chains, columns)
            The chains.

        Returns
        -------
        array (chains, columns)

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(2, 1, visible="gaussian", sigma=2.0, seed=0), dtype=np.float64)
        >>> prog.statistic(np.array([[1.0, 4.0, 1.0]]))  # v / sigma, then h
        array([[0.5, 2. , 1. ]])
        """
        if self.identity_statistic:
            return state
        T = self.xp.empty_like(state)
        for L in self.layers:
            T[:, L.sl] = L.ops.statistic(state[:, L.sl], L.params)
        return T

    def recognition_field(self, T, layer):
        """The recognition model's input to ``layer``: ``sum_children T(child) R + bias``
        over the recognition edges into it (wake-sleep's bottom-up pass); a ModelError
        when none points at it.

        Parameters
        ----------
        T : array (chains, columns)
            Statistics of the states (:meth:`statistic`).
        layer : Layer
            The layer the recognition edges point at.

        Returns
        -------
        array (chains, layer's columns)
            The logits of ``q(layer | children)``.

        Raises
        ------
        ModelError
            If no recognition edge points at ``layer``.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.sbn([3, 2], recognition=True, seed=0), dtype=np.float64)
        >>> T = prog.statistic(np.ones((1, 5)))
        >>> np.round(prog.recognition_field(T, prog.layer_of("h1")), 4)
        array([[ 0.0063, -0.0007]])
        """
        into = [r for r in self.recognition if r.b is layer]
        if not into:
            raise ModelError(
                f"node {layer.name!r}: no recognition edge points at it; declare one (child, {layer.name!r}, "
                "recognition=True)"
            )
        x = into[0].bias + T[:, into[0].a.sl] @ into[0].W
        for r in into[1:]:
            x += r.bias + T[:, r.a.sl] @ r.W
        return x

    def coupling_matrix(self, sparse=False):
        """Every undirected and lateral coupling as one symmetric matrix ``J`` over the
        columns (float64, host), so that ``-E_couplings = T^T J T / 2``; directed couplings
        are not part of it. For enumeration and checks of small models, or, ``sparse``, as
        a scipy CSR matrix for large sparse ones.

        Parameters
        ----------
        sparse : bool
            Return a scipy CSR matrix.

        Returns
        -------
        numpy.ndarray or scipy.sparse.csr_matrix (columns, columns)

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> J = prog.coupling_matrix()
        >>> bool((J == J.T).all()), bool((J[:3, 3:] == prog.params["v~h.weight"]).all())
        (True, True)
        """
        dense, sparse_entries = [], []
        for c in self.couplings:
            if c.type == "directed":
                continue
            if c.type == "stencil":
                rows, cols = c.bonds()
                sparse_entries.append((c.a.offset + rows, c.a.offset + cols, c.bond_values()))
            elif c.sparse:
                sparse_entries.append((c.a.offset + c.rows, c.b.offset + c.cols_, to_host(c.values).astype(np.float64)))
            else:
                dense.append((c.a.offset, c.b.offset, to_host(c.W), c.type == "lateral"))
        return symmetric_matrix(self.n_columns, dense, sparse_entries, as_sparse=sparse)

    def field(self, T, layer):
        """Coupling input ``x`` of ``layer`` (a Layer, or a Part of one) given statistics
        ``T``: ``x_i = sum_j W_ij T(s_j)`` over undirected neighbours, lateral partners
        and directed parents (a directed child's influence is not part of ``x``).

        Cost: one matrix product per dense coupling into the layer.

        Parameters
        ----------
        T : array (chains, columns)
            Statistics of the states (:meth:`statistic`).
        layer : Layer or Part
            Whose input.

        Returns
        -------
        array (chains, columns of the layer or part)
            A fresh array (the caller may overwrite it).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> x = prog.field(prog.statistic(np.ones((1, 5))), prog.layer_of("h"))
        >>> bool(np.allclose(x, prog.params["v~h.weight"].sum(axis=0)))
        True
        """
        return self.inputs.field(T, layer)

    # ------------------------------------------------------------------ energies
    def energy(self, state):
        """E(s) for each chain (shape (chains,)).

        Undirected: ``E = sum_i f(s_i) - sum_(ij) T_i W_ij T_j`` (each pair once).
        A directed layer adds ``-log p(s_layer | parents)``.

        Parameters
        ----------
        state : array (chains, columns)
            Complete states.

        Returns
        -------
        array (chains,)

        Raises
        ------
        ValueError
            If the shape is not (chains, ``n_columns``).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> s = np.ones((1, 5))
        >>> bool(np.isclose(prog.energy(s)[0], -prog.params["v~h.weight"].sum()))
        True
        """
        return -self.log_weight(self.check_shape(state))

    def log_weight(self, state, summed=None, beta=1.0):
        """``-beta E(s)`` per chain, with the units where ``summed`` (a column mask) is True
        summed out analytically (each contributing ``log sum_s exp(beta ell(s; x))``).

        Parameters
        ----------
        state : array (chains, columns)
            States; the summed columns' values are ignored.
        summed : bool array (columns,), optional
            Units to sum out; they must be conditionally independent given the rest.
        beta : float or array (chains, 1)
            Inverse temperature.

        Returns
        -------
        array (chains,)
            ``-beta F`` with the summed units out (``-beta E`` when none are).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> s = np.ones((1, 5))
        >>> bool(np.isclose(prog.log_weight(s, beta=0.5)[0], -0.5 * prog.energy(s)[0]))
        True
        >>> bool(np.isclose(prog.log_weight(s, prog.hidden_summable())[0], -prog.free_energy(s)[0]))
        True
        """
        xp = self.xp
        T = self.statistic(state)
        if summed is not None:
            T = T * xp.asarray(~summed, dtype=T.dtype)
        out = xp.zeros(state.shape[0], dtype=state.dtype)
        for L in self.layers:
            s = state[:, L.sl]
            if L.directed:
                x = self.field(T, L)
                ell = -L.ops.self_energy(s, L.params) + L.ops.statistic(s, L.params) * x
                out += xp.sum(ell, axis=1) - xp.sum(L.ops.log_partition(x, L.params, 1.0, L.width), axis=1)
                continue
            f = L.ops.self_energy(s, L.params)
            if summed is not None and summed[L.sl].any():
                f = xp.where(xp.asarray(summed[L.sl]), 0, f)
                lz = L.ops.log_partition(self.field(T, L), L.params, beta, L.width)
                out += xp.sum(xp.where(xp.asarray(summed[L.sl][:: L.width]), lz, 0), axis=1) / beta
            out -= xp.sum(f, axis=1)
        for c in self.couplings:
            if c.type == "directed":
                continue
            Ta, Tb = T[:, c.a.sl], T[:, c.b.sl]
            if c.type == "stencil":  # each bond once: a site with its next neighbour along each axis
                out += 0.5 * xp.sum(Ta * neighbour_sum(xp, Ta, c.a.shape, c.periodic, c.W, c.a.width), axis=1)
            elif c.sparse:
                out += (Ta[:, xp.asarray(c.rows)] * Tb[:, xp.asarray(c.cols_)]) @ c.values
            elif c.type == "lateral":
                out += 0.5 * xp.sum((Ta @ c.W) * Ta, axis=1)
            else:
                out += xp.sum((Ta @ c.W) * Tb, axis=1)
        return out * beta

    def hidden_summable(self):
        """Column mask of hidden units if they can be summed analytically, else None.

        They can when no coupling joins two hidden units and none is in a directed layer.

        Returns
        -------
        bool array (columns,) or None

        Examples
        --------
        >>> import graphmrf as gm
        >>> gm.compile(gm.rbm(3, 2, seed=0)).hidden_summable().tolist()
        [False, False, False, True, True]
        >>> gm.compile(gm.boltzmann(3, 2, seed=0)).hidden_summable() is None  # h~h couples them
        True
        """
        hidden = ~self.visible_mask
        if not hidden.any():
            return hidden
        return hidden if self.independent(hidden) else None

    def independent(self, mask):
        """True if no coupling joins two columns of ``mask`` and none is directed-related.

        When no coupling has columns of ``mask`` at both ends the answer is structural and
        kept (a training loop asks once per mini-batch); otherwise it depends on which
        weights are zero and is computed each time.

        Parameters
        ----------
        mask : bool array (columns,)
            The units asked about.

        Returns
        -------
        bool
            Whether they are conditionally independent given the others.

        Examples
        --------
        >>> import graphmrf as gm
        >>> rbm, bm = gm.compile(gm.rbm(3, 2, seed=0)), gm.compile(gm.boltzmann(3, 2, seed=0))
        >>> rbm.independent(rbm.visible_mask), bm.independent(bm.visible_mask)
        (True, False)
        """
        key = mask.tobytes()
        known = self._independence.get(key)
        if known is not None:
            return known
        if any(mask[L.sl].any() and (L.directed or L.children) for L in self.layers):
            self._independence[key] = False
            return False
        structural = True
        for c in self.couplings:
            ma, mb = mask[c.a.sl], mask[c.b.sl]
            if not (ma.any() and mb.any()):
                continue
            structural = False
            if c.type == "stencil":
                rows, cols = c.bonds()
                if np.any(ma[rows] & mb[cols] & (c.bond_values() != 0)):
                    return False
            elif c.sparse:
                if np.any(ma[c.rows] & mb[c.cols_] & (to_host(c.values) != 0)):
                    return False
            elif np.any(to_host(c.W)[np.ix_(ma, mb)] != 0):
                return False
        if structural:
            self._independence[key] = True
        return True

    def free_energy(self, visible):
        """Free energy ``F(v) = -log sum_h exp(-E(v, h))`` of visible configurations.

        ``visible`` is a full state (hidden columns ignored) or just the visible columns.
        Hidden units are summed analytically, which needs them to be conditionally
        independent given the visible ones (an RBM, a BM without hidden-hidden couplings).
        For an RBM of binary units ``F(v) = -b^T v - sum_j softplus(c_j + v^T W_j)``.

        Parameters
        ----------
        visible : array (chains, columns) or (chains, visible columns)
            Visible configurations.

        Returns
        -------
        array (chains,)

        Raises
        ------
        ValueError
            If ``visible`` is not 2-d or has neither width.
        ModelError
            If the hidden units cannot be summed analytically.

        Examples
        --------
        With zero weights and biases each of two binary hidden units contributes
        ``-log 2``:

        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0), dtype=np.float64)
        >>> prog.free_energy(np.ones((1, 3)))
        array([-1.38629436])
        """
        xp = self.xp
        visible = xp.asarray(visible)
        if visible.ndim != 2:
            raise ValueError(f"visible: expected a 2-d array; got shape {tuple(visible.shape)}")
        nv = self.visible_columns.size
        if visible.shape[1] == nv and nv != self.n_columns:
            full = xp.zeros((visible.shape[0], self.n_columns), dtype=self.dtype)
            full[:, xp.asarray(self.visible_columns)] = visible
            visible = full
        visible = self.check_shape(visible.astype(self.dtype, copy=False), "visible")
        mask = self.hidden_summable()
        if mask is None:
            raise ModelError(
                "free_energy: hidden units are coupled to each other (or directed), so they cannot be summed "
                "analytically; use graphmrf.exact.log_likelihood"
            )
        return -self.log_weight(visible, mask)

    def log_prob(self, state):
        """log p(s) of complete states of a directed net (sigmoid belief net).

        ``log p(s) = sum_i log p(s_i | parents)`` (``-E(s)``: a directed net has ``Z = 1``).

        Parameters
        ----------
        state : array (chains, columns)
            Complete states.

        Returns
        -------
        array (chains,)

        Raises
        ------
        ModelError
            If the model is not a directed net without an undirected top (use
            :mod:`graphmrf.exact` there).

        Examples
        --------
        With zero weights every unit is on with probability 1/2:

        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.sbn([2, 1], seed=0, scale=0.0), dtype=np.float64)
        >>> bool(np.isclose(prog.log_prob(np.ones((1, 3)))[0], 3 * np.log(0.5)))
        True
        """
        if not self.directed or any(not L.directed for L in self.layers):
            raise ModelError(
                "log_prob: defined for directed nets without an undirected top; use graphmrf.exact for the "
                "normalised probability of other models"
            )
        return -self.energy(state)

    # ------------------------------------------------------------------ conditionals
    def part_conditional(self, state, T, part, beta=1.0, children=True, x=None, workspace=None):
        """The conditional of ``part`` given the rest (see
        :func:`graphmrf.conditionals.part_conditional`).

        Parameters
        ----------
        state : array (chains, columns)
            The chains.
        T : array (chains, columns)
            Their statistics (:meth:`statistic`).
        part : Part
            The units.
        beta : float or array (chains, 1)
            Inverse temperature.
        children : bool
            Whether to include directed children's terms (explaining away).
        x : array, optional
            The part's coupling input, if already computed (it may be overwritten).
        workspace : Workspace, optional
            Reused buffers.

        Returns
        -------
        dict
            ``{"logits": ...}`` or ``{"mean": ..., "var": ...}``.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> s = np.zeros((1, 5))
        >>> prog.part_conditional(s, prog.statistic(s), prog.blocks[1][0])["logits"].shape
        (1, 2, 1)
        """
        return conditionals.part_conditional(self, state, T, part, beta, children, x, workspace)

    def update_part(
        self,
        state,
        T,
        part,
        rng,
        beta=1.0,
        keep=None,
        mode="sample",
        children=True,
        count=False,
        x=None,
        workspace=None,
    ):
        """Redraw ``part`` in place (see :func:`graphmrf.conditionals.update_part`).

        Parameters
        ----------
        state : array (chains, columns)
            The chains, updated in place.
        T : array (chains, columns)
            Their statistics, kept in step (``state`` itself when they are equal).
        part : Part
            The units to redraw.
        rng : Generator
            Random generator of the draws.
        beta : float or array (chains, 1)
            Inverse temperature.
        keep : bool array (chains, columns), optional
            Clamped entries, left unchanged.
        mode : {"sample", "max"}
            Draw, or take the most probable value (zero temperature).
        children : bool
            Whether to include directed children's terms.
        count : bool
            Whether to count the changed units.
        x : array, optional
            The part's coupling input, if already computed.
        workspace : Workspace, optional
            Reused buffers.

        Returns
        -------
        int or array (chains,)
            The units that changed, per chain (with ``count=True``), else 0.

        Raises
        ------
        ValueError
            If ``mode`` is neither "sample" nor "max".

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> s = np.zeros((3, 5))
        >>> prog.update_part(s, s, prog.blocks[1][0], np.random.default_rng(0), count=True)
        array([1, 2, 0])
        """
        return conditionals.update_part(self, state, T, part, rng, beta, keep, mode, children, count, x, workspace)

    def conditional(self, state, block, beta=1.0):
        """Conditional distribution of each part of ``block`` given the rest.

        Returns one dict per part: ``{"logits": ...}`` (discrete: relative to the first
        support value; softmax: (chains, n, K)) or ``{"mean": ..., "var": ...}``.

        Parameters
        ----------
        state : array (chains, columns)
            The chains.
        block : int or tuple of Part
            An index into ``blocks``, or a block.
        beta : float
            Inverse temperature.

        Returns
        -------
        list of dict
            One per part of the block.

        Raises
        ------
        ValueError
            If the shape of ``state`` is not (chains, ``n_columns``).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> (h,) = prog.conditional(np.ones((1, 5)), 1)  # p(h | v = 111)
        >>> bool(np.allclose(h["logits"][0, :, 0], prog.params["v~h.weight"].sum(axis=0)))
        True
        """
        state = self.check_shape(state)
        T = self.statistic(state)
        return [self.part_conditional(state, T, p, beta) for p in self.block(block)]

    def sample_block(self, state, block, rng=None, beta=1.0):
        """Return a copy of ``state`` with the units of ``block`` redrawn from their
        conditional at inverse temperature ``beta`` (uniform and normal draws only).

        Parameters
        ----------
        state : array (chains, columns)
            The chains (not modified).
        block : int or tuple of Part
            An index into ``blocks``, or a block.
        rng : None, int or Generator
            See :meth:`generator`.
        beta : float
            Inverse temperature.

        Returns
        -------
        array (chains, columns)

        Raises
        ------
        ValueError
            If the shape of ``state`` is not (chains, ``n_columns``).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> prog.sample_block(np.zeros((2, 5)), 1, rng=0)  # h given v = 000
        array([[0., 0., 0., 0., 1.],
               [0., 0., 0., 1., 1.]])
        """
        state = self.check_shape(state).astype(self.dtype, copy=True)
        rng = self.generator(rng)
        T = self.statistic(state)
        for part in self.block(block):
            self.update_part(state, T, part, rng, beta)
        return state

    # ------------------------------------------------------------------ statistics
    def sufficient_stats(self, state, weights=None, summed=None, fields=None, out=None):
        """Batch average of ``-dE/dtheta`` for every parameter (same keys as ``params``);
        see :func:`graphmrf.statistics.sufficient_stats`.

        Parameters
        ----------
        state : array (chains, columns)
            The states.
        weights : array (chains,), optional
            Weights of the chains (default ``1 / chains``).
        summed : bool array (columns,), optional
            Units replaced by their conditional expectation (``E[h | v]``).
        fields : dict, optional
            Coupling inputs of summed layers already computed.
        out : dict, optional
            Arrays to write the statistics into.

        Returns
        -------
        dict
            One array per parameter, shaped like it.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
        >>> stats = prog.sufficient_stats(np.array([[1.0, 0, 1, 1, 0], [0, 0, 1, 1, 1]]))
        >>> stats["v~h.weight"].tolist(), stats["h.bias"].tolist()
        ([[0.5, 0.0], [0.0, 0.0], [1.0, 0.5]], [1.0, 0.5])
        """
        return statistics.sufficient_stats(self, state, weights, summed, fields, out)
