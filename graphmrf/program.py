r"""The compiled form of a model: flat parameter arrays, blocks, and batched kernels.

A Program holds one state layout -- an array of shape (chains, columns) where every
layer owns a contiguous slice of columns (a softmax unit owns K one-hot columns) -- and
the operations every sampler, enumerator and learning rule needs, batched over chains
on axis 0:

* :meth:`Program.energy` ``E(s)``; for a directed net ``E(s) = -log p(s)`` (so ``Z = 1``),
  and for a DBN the top pair contributes its RBM energy, so ``p(s) = exp(-E(s)) / Z``
  holds for every model;
* :meth:`Program.free_energy` ``F(v) = -log sum_h exp(-E(v, h))`` with the hidden
  units summed analytically;
* :meth:`Program.conditional` and :meth:`Program.sample_block`: the distribution of one
  block given the rest, and a draw from it, at inverse temperature ``beta``;
* :meth:`Program.sufficient_stats`: ``-dE/dtheta`` averaged over a batch (the quantity
  learning rules contrast between data and model), optionally with a set of units
  replaced by its conditional expectation.

Parameters live in :attr:`Program.params`, a dict of arrays updated in place; nothing
is recompiled when they change.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
>>> s = np.zeros((1, prog.n_columns))
>>> float(prog.energy(s)[0]) == 0.0
True
>>> prog.params["v.bias"][:] = 1.0
>>> float(prog.free_energy(np.ones((1, 5)))[0] + 3 + 2 * np.log(2)) < 1e-3
True
"""

import threading

import numpy as np

from .backend import as_generator, to_host, uniform_into
from .errors import ModelError

__all__ = ["Program", "Part", "Layer", "Coupling"]


def _weighted_outer(xp, Ta, Tb, w, out=None):
    """``sum_n w_n Ta[n]^T Tb[n]``: one matrix product, the weights (a number or a column)
    scaling the narrower side (fewer multiplications)."""
    if Ta.shape[1] <= Tb.shape[1]:
        return xp.matmul((Ta * w).T, Tb, out=out)
    return xp.matmul(Ta.T, Tb * w, out=out)


# per-unit parameters are spread over the chains (see Program._spread_params) only up to
# this many entries per array: larger runs add them by broadcasting, with no copy
_SPREAD_MAX = 1 << 22


def _column_major(a):
    """True for an array stored column by column (a 2-D Fortran-ordered array or slice)."""
    return a.ndim == 2 and a.shape[0] > 1 and a.flags.f_contiguous and not a.flags.c_contiguous


class Part:
    """Units of one layer that are updated together in a block: a run ``start:stop``
    (``Part(layer, start, stop)``) or any sorted set of unit indices
    (``Part(layer, units=[0, 2, 5])``, what the colouring of a unit-level graph gives,
    since units keep their declared order)."""

    __slots__ = ("layer", "units")

    def __init__(self, layer, start=0, stop=None, units=None):
        if units is not None:
            idx = np.unique(np.asarray(units, dtype=np.int64))
            if idx.size and idx[-1] - idx[0] + 1 == idx.size:  # a run: a slice, a view
                units = slice(int(idx[0]), int(idx[-1]) + 1)
            else:
                units = idx
        else:
            units = slice(int(start), int(layer.n if stop is None else stop))
        self.layer, self.units = layer, units

    @property
    def contiguous(self):
        """True when the units are one run (their columns are a slice, views not copies)."""
        return isinstance(self.units, slice)

    @property
    def start(self):
        return self.units.start if self.contiguous else int(self.units[0])

    @property
    def stop(self):
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
        return (self.units[:, None] * w + np.arange(w)[None, :]).reshape(-1)

    @property
    def key(self):
        """A hashable identity (layer index and units), for caches."""
        u = (self.units.start, self.units.stop) if self.contiguous else self.units.tobytes()
        return (getattr(self.layer, "index", self.layer), u)

    def __repr__(self):
        name = getattr(self.layer, "name", self.layer)
        if self.contiguous:
            return f"Part({name!r}, {self.units.start}, {self.units.stop})"
        return f"Part({name!r}, units={self.units.tolist()})"


class Layer:
    """A run of columns holding units of one kind (a layer node, or single units)."""

    def __init__(self, spec, index, offset, backend, dtype):
        from .symbolic import derive

        self.index = index
        self.name, self.nodes, self.declared = spec.name, list(spec.nodes), spec.declared
        self.kind, self.n, self.width = spec.kind, spec.n, spec.width
        self.cols = spec.n * spec.width
        self.offset = offset
        self.sl = slice(offset, offset + self.cols)
        self.visible = np.asarray(spec.visible, dtype=bool)
        self.directed = spec.directed
        self.lateral = spec.lateral
        self.ops = derive(spec.kind).numeric(backend.xp)
        self.params = {k: backend.xp.asarray(v, dtype=dtype) for k, v in spec.params.items()}
        self.children = []  # directed couplings where this layer is the parent

    def p(self, cols=slice(None)):
        return {k: v[cols] for k, v in self.params.items()}

    def __repr__(self):
        return f"Layer({self.name!r}, kind={self.kind.name!r}, n={self.n})"


class Coupling:
    """A coupling between layers ``a`` (rows) and ``b`` (columns): dense or sparse."""

    def __init__(self, spec, layers, backend, dtype):
        self.key, self.type = spec.key, spec.type
        self.a, self.b = layers[spec.a], layers[spec.b]
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
        return self.W is None

    def dense(self):
        """The coupling as a dense (a.cols, b.cols) matrix (a copy for sparse ones)."""
        if not self.sparse:
            return self.W
        xp = self.backend.xp
        M = xp.zeros((self.a.cols, self.b.cols), dtype=self.values.dtype)
        M[xp.asarray(self.rows), xp.asarray(self.cols_)] = self.values
        return M


class _SparseIn:
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
        self.M = backend.sparse.csr_matrix((vals[self.entry], xp.asarray((src_idx - lo).astype(idx_t)), xp.asarray(np.cumsum(indptr).astype(idx_t))), shape=(n_dest, hi - lo))
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
        self.refresh()
        # the product wants the chains as columns. A column-major state (what sample() keeps
        # for sparse models) is that already, and the input comes back in the same layout;
        # a row-major one is transposed in and out, so what follows runs on contiguous arrays
        x = (self.M @ self.xp.ascontiguousarray(T[:, self.cols].T)).T
        return x if _column_major(T) else self.xp.ascontiguousarray(x)


class Program:
    """A compiled model; see the module docstring. Built by :func:`graphmrf.compile`."""

    def __init__(self, spec, blocks, backend, dtype, seed=None):
        self.spec = spec
        self.graph = spec.graph
        self.backend = backend
        self.xp = backend.xp
        self.dtype = np.dtype(dtype)
        self.directed = spec.directed
        self.layers, off = [], 0
        for i, ls in enumerate(spec.layers):
            L = Layer(ls, i, off, backend, self.dtype)
            self.layers.append(L)
            off += L.cols
        self.n_columns = off
        self.couplings = [Coupling(c, self.layers, backend, self.dtype) for c in spec.couplings]
        for c in self.couplings:
            if c.type == "directed":
                c.a.children.append(c)
        self.blocks = [tuple(Part(self.layers[p.layer], units=p.indices) for p in b) for b in blocks]
        self.params = {}
        for L in self.layers:
            for k, v in L.params.items():
                self.params[f"{L.name}.{k}"] = v
        for c in self.couplings:
            self.params[c.key] = c.values
        self.rng = as_generator(seed, backend)
        self._incoming = {}
        self._scratch = {}
        self._structural = {}  # answers no weight value can change: independence per column mask, "direct stats"
        self._part_params = {}
        from .kinds import S as _S

        self._identity_statistic = all(L.kind.statistic == _S for L in self.layers)
        vis = np.concatenate([np.repeat(L.visible, L.width) for L in self.layers])
        #: Boolean mask over columns: True for columns of visible units.
        self.visible_mask = vis
        self.visible_columns = np.flatnonzero(vis)
        self.hidden_columns = np.flatnonzero(~vis)

    # ------------------------------------------------------------------ description
    def __repr__(self):
        kinds = ", ".join(f"{L.name}:{L.kind.name}x{L.n}" for L in self.layers)
        return f"Program([{kinds}], blocks={len(self.blocks)}, backend={self.backend.name!r}, dtype={self.dtype})"

    @property
    def device(self):
        return self.backend.device

    def columns(self, node):
        """Column slice (into a state) of a layer node or a single unit node."""
        if node not in self.spec.unit_index:
            raise KeyError(f"node {node!r}: not in this model")
        li, u = self.spec.unit_index[node]
        L = self.layers[li]
        if L.declared:
            return L.sl
        return slice(L.offset + u * L.width, L.offset + (u + 1) * L.width)

    def layer_of(self, node):
        return self.layers[self.spec.unit_index[node][0]]

    # ------------------------------------------------------------------ parameters
    def get(self, item, name):
        """Value of parameter ``name`` of a node or an edge, in the graph's units.

        ``get("v", "bias")`` returns the layer's biases; ``get(("v", "h"), "weight")``
        the weight matrix oriented as asked (rows index the first node named).
        """
        if isinstance(item, tuple) and len(item) == 2 and item[0] in self.spec.unit_index and item[1] in self.spec.unit_index and name == "weight":
            return self._get_weight(*item)
        L = self.layer_of(item)
        for p in L.kind.params:
            if p.graph_attr == name:
                cols = self.columns(item)
                v = p.from_internal(to_host(L.params[p.name][cols.start - L.offset : cols.stop - L.offset]).astype(np.float64))
                if L.declared:
                    return v.reshape(L.n, L.width) if L.width > 1 else v
                return v if L.width > 1 else float(v[0])
        raise KeyError(f"node {item!r}: kind {L.kind.name!r} has no parameter {name!r}")

    def _coupling_between(self, u, v):
        lu, iu = self.spec.unit_index[u]
        lv, iv = self.spec.unit_index[v]
        for c in self.couplings:
            if (c.a.index, c.b.index) == (lu, lv):
                return c, False, (iu, iv)
            if (c.a.index, c.b.index) == (lv, lu):
                return c, True, (iv, iu)
        raise KeyError(f"edge ({u!r}, {v!r}): not in this model")

    def _get_weight(self, u, v):
        c, flip, (iu, iv) = self._coupling_between(u, v)
        if not c.sparse:
            W = to_host(c.W).astype(np.float64)
            return W.T if flip else W
        a_w, b_w = c.a.width, c.b.width
        vals = to_host(c.values).astype(np.float64)
        sel = (c.rows // a_w == iu) & (c.cols_ // b_w == iv)
        if c.type == "lateral" and not sel.any():
            sel = (c.rows // a_w == iv) & (c.cols_ // b_w == iu)
            flip = not flip
        if not sel.any():
            raise KeyError(f"edge ({u!r}, {v!r}): not in this model")
        M = np.zeros((a_w, b_w))
        M[c.rows[sel] % a_w, c.cols_[sel] % b_w] = vals[sel]
        M = M.T if flip else M
        return float(M[0, 0]) if M.size == 1 else M

    def to_graph(self):
        """A copy of the declared graph with the current parameters written back."""
        g = self.graph.copy()
        for L in self.layers:
            for p in L.kind.params:
                full = p.from_internal(to_host(L.params[p.name]).astype(np.float64))
                if L.declared:
                    g.nodes[L.nodes[0]][p.graph_attr] = full.reshape(L.n, L.width) if L.width > 1 else full
                else:
                    for j, node in enumerate(L.nodes):
                        v = full[j * L.width : (j + 1) * L.width]
                        g.nodes[node][p.graph_attr] = float(v[0]) if L.width == 1 else v
        for c in self.couplings:
            if not c.sparse:
                W = to_host(c.W).astype(np.float64)
                u, v = c.a.nodes[0], c.b.nodes[0]
                g.edges[u, v]["weight"] = W
            else:
                vals = to_host(c.values).astype(np.float64)
                per_edge = {}
                for (u, v, a, b), val in zip(c.edges, vals):
                    per_edge.setdefault((u, v), {})[(a, b)] = val
                for (u, v), entries in per_edge.items():
                    if len(entries) == 1 and (0, 0) in entries:
                        g.edges[u, v]["weight"] = float(entries[(0, 0)])
                    else:
                        M = np.zeros((self.layer_of(u).width, self.layer_of(v).width))
                        for (a, b), val in entries.items():
                            M[a, b] = val
                        g.edges[u, v]["weight"] = M
        return g

    # ------------------------------------------------------------------ states
    def _check_state(self, state, what="state"):
        xp = self.xp
        state = xp.asarray(state)
        if state.ndim != 2 or state.shape[1] != self.n_columns:
            raise ValueError(f"{what}: expected shape (chains, {self.n_columns}); got {tuple(state.shape)}")
        return state

    def _own(self, state, inplace=False):
        """``state`` itself when the caller lets a sampler overwrite it (and it already has
        the Program's dtype and backend), else a fresh copy."""
        xp = self.xp
        if inplace and isinstance(state, xp.ndarray) and state.dtype == self.dtype and state.flags.writeable and state.flags.c_contiguous:
            return state
        return xp.array(state, dtype=self.dtype, copy=True)

    def generator(self, seed=None):
        """The random generator a call with ``seed`` uses: ``seed``'s own (an int gives a
        fresh one, a Generator is used as is), or this Program's default generator
        (``compile(..., seed=...)``) when ``seed`` is None. Every sampling and training
        function draws through this, so two programs compiled with the same seed agree,
        and consecutive calls on one program continue its stream (they differ).

        >>> import graphmrf as gm
        >>> a, b = (gm.compile(gm.rbm(3, 2), seed=5) for _ in range(2))
        >>> bool(a.generator().random() == b.generator().random())
        True
        """
        return self.rng if seed is None else as_generator(seed, self.backend)

    def random_state(self, n_chains, seed=None):
        """A state with every unit drawn independently: uniform over a discrete support,
        ``N(bias, sigma^2)`` for real-valued units."""
        rng = self.generator(seed)
        xp = self.xp
        out = xp.empty((n_chains, self.n_columns), dtype=self.dtype)
        for L in self.layers:
            zero = xp.zeros((n_chains, L.cols), dtype=self.dtype)
            cond = L.ops.conditional(zero, {k: v * 0 for k, v in L.params.items()}, 1.0, L.width)
            if "mean" in cond:
                cond = {"mean": zero + L.params["bias"], "var": zero + xp.exp(2 * L.params.get("log_sigma", zero))}
            out[:, L.sl] = L.ops.draw(cond, lambda s: rng.random(s, dtype=self.dtype), lambda s: rng.standard_normal(s, dtype=self.dtype), L.width)
        return out

    def statistic(self, state):
        """T(s): what each column contributes to couplings (s, or s/sigma for gaussian).

        When every kind's statistic is the state itself this is ``state`` (no copy):
        samplers then update one array instead of two.
        """
        if self._identity_statistic:
            return state
        xp = self.xp
        T = xp.empty_like(state)
        for L in self.layers:
            T[:, L.sl] = L.ops.statistic(state[:, L.sl], L.params)
        return T

    # ------------------------------------------------------------------ fields
    def _incoming_ops(self, part):
        key = part.key
        if key in self._incoming:
            return self._incoming[key]
        layer = part.layer
        cols = part.columns
        # position of each of the layer's columns within the part (-1: not in it)
        pos = np.full(layer.cols, -1, dtype=np.int64)
        pos[cols] = np.arange(part.n * layer.width)
        ops = []
        for c in self.couplings:
            if c.type == "directed" and c.b is not layer:
                continue
            if not c.sparse:  # layer nodes: their parts are runs, so W's slices are views
                if c.type == "lateral":  # symmetric: a unit's input reads its row (contiguous)
                    if c.a is layer:
                        ops.append(("dense_a", c, c.a, cols))
                    continue
                if c.b is layer:
                    ops.append(("dense_b", c, c.a, cols))
                if c.a is layer and c.type == "undirected":
                    ops.append(("dense_a", c, c.b, cols))
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
            for src_index, parts in pieces.items():
                dest = np.concatenate([p[0] for p in parts])
                if dest.size:
                    src = np.concatenate([p[1] for p in parts])
                    entry = np.concatenate([p[2] for p in parts])
                    n_dest = part.n * layer.width
                    ops.append(("sparse", _SparseIn(lambda c=c: c.values, dest, src, entry, n_dest, self.layers[src_index], self.backend)))
        self._incoming[key] = ops
        return ops

    def field(self, T, layer):
        """Coupling input ``x`` of the units of ``layer`` (a Layer, or a Part of one) given
        statistics ``T``.

        ``x_i = sum_j W_ij T(s_j)`` over undirected neighbours and lateral partners, and
        over directed parents; a directed child's influence is not part of ``x``.
        """
        part = layer if isinstance(layer, Part) else Part(layer, 0, layer.n)
        x = None
        for op in self._incoming_ops(part):
            if op[0] == "dense_b":
                _, c, src, cols = op
                term = T[:, src.sl] @ c.W[:, cols]
            elif op[0] == "dense_a":
                _, c, src, cols = op
                term = T[:, src.sl] @ c.W[cols, :].T
            else:
                term = op[1].apply(T)
            if x is None:
                x = term  # a fresh array from the product: no zeros, no extra pass
            else:
                x += term
        if x is None:
            x = self.xp.zeros((T.shape[0], part.n * part.layer.width), dtype=T.dtype)
        return x

    # ------------------------------------------------------------------ energies
    def energy(self, state):
        """E(s) for each chain (shape (chains,)).

        Undirected: ``E = sum_i f(s_i) - sum_(ij) T_i W_ij T_j`` (each pair once).
        A directed layer adds ``-log p(s_layer | parents)``.
        """
        state = self._check_state(state)
        return -self._log_weight(state, None)

    def _log_weight(self, state, summed, beta=1.0):
        """-beta E(s), with the units where ``summed`` (a column mask) is True summed out
        (each contributing ``log sum_s exp(beta ell(s; x))``)."""
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
                m = xp.asarray(summed[L.sl])
                f = xp.where(m, 0, f)
                x = self.field(T, L)
                lz = L.ops.log_partition(x, L.params, beta, L.width)
                unit_mask = xp.asarray(summed[L.sl][:: L.width])
                out += xp.sum(xp.where(unit_mask, lz, 0), axis=1) / beta
            out -= xp.sum(f, axis=1)
        for c in self.couplings:
            if c.type == "directed":
                continue
            Ta, Tb = T[:, c.a.sl], T[:, c.b.sl]
            if c.sparse:
                ra = xp.asarray(c.rows)
                cb = xp.asarray(c.cols_)
                out += (Ta[:, ra] * Tb[:, cb]) @ c.values
            elif c.type == "lateral":
                out += 0.5 * xp.sum((Ta @ c.W) * Ta, axis=1)
            else:
                out += xp.sum((Ta @ c.W) * Tb, axis=1)
        return out * beta

    def hidden_summable(self):
        """Column mask of hidden units if they can be summed analytically, else None.

        They can when no coupling joins two hidden units and none is in a directed layer.
        """
        hidden = ~self.visible_mask
        if not hidden.any():
            return hidden
        return hidden if self._independent(hidden) else None

    def _independent(self, mask):
        """True if no coupling joins two columns of ``mask`` and none is directed-related.

        When no coupling has columns of ``mask`` at both ends the answer is structural and
        kept (a training loop asks once per mini-batch); otherwise it depends on which
        weights are zero and is computed each time."""
        key = mask.tobytes()
        known = self._structural.get(key)
        if known is not None:
            return known
        structural = True
        for L in self.layers:
            if mask[L.sl].any() and (L.directed or L.children):
                self._structural[key] = False
                return False
        for c in self.couplings:
            ma, mb = mask[c.a.sl], mask[c.b.sl]
            if not (ma.any() and mb.any()):
                continue
            structural = False
            if c.sparse:
                if np.any(ma[c.rows] & mb[c.cols_] & (to_host(c.values) != 0)):
                    return False
            else:
                W = to_host(c.W)
                if np.any(W[np.ix_(ma, mb)] != 0):
                    return False
        if structural:
            self._structural[key] = True
        return True

    def free_energy(self, visible):
        """Free energy ``F(v) = -log sum_h exp(-E(v, h))`` of visible configurations.

        ``visible`` is a full state (hidden columns ignored) or just the visible columns.
        Hidden units are summed analytically, which needs them to be conditionally
        independent given the visible ones (an RBM, a BM without hidden-hidden couplings).
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
        visible = self._check_state(visible.astype(self.dtype, copy=False), "visible")
        mask = self.hidden_summable()
        if mask is None:
            raise ModelError("free_energy: hidden units are coupled to each other (or directed), so they cannot be summed analytically; use graphmrf.exact.log_likelihood")
        return -self._log_weight(visible, mask)

    def log_prob(self, state):
        """log p(s) of complete states of a directed net (sigmoid belief net)."""
        if not self.directed or any(not L.directed for L in self.layers):
            raise ModelError("log_prob: defined for directed nets without an undirected top; use graphmrf.exact for the normalised probability of other models")
        return -self.energy(state)

    # ------------------------------------------------------------------ conditionals
    def _children_term(self, state, T, part, values):
        """sum over directed children of log p(child | parents) for each candidate value.

        Returns an array (chains, n_part, n_values) or None when the layer has no children.
        """
        L = part.layer
        if not L.children:
            return None
        xp = self.xp
        if not L.kind.discrete:
            raise ModelError(f"node {L.name!r}: {L.kind.name} units with directed children have no closed-form conditional")
        cs = part.columns
        n_part = part.n
        cur = T[:, L.sl][:, cs].reshape(T.shape[0], n_part, L.width)
        out = []
        for vals in values:  # vals: (width,) state of one unit
            Tv = L.ops.statistic(xp.broadcast_to(xp.asarray(vals, dtype=T.dtype), (1, n_part, L.width)), {k: v[cs].reshape(1, n_part, L.width) for k, v in L.params.items()})
            dT = Tv - cur  # (chains, n_part, width)
            tot = 0
            for c in L.children:
                C = c.b
                Wp = c.dense()[cs].reshape(n_part, L.width, C.cols)
                xc = self.field(T, C)
                xn = xc[:, None, :] + xp.einsum("cnw,nwj->cnj", dT, Wp)
                sc = state[:, C.sl][:, None, :]
                ell = -C.ops.self_energy(sc, C.params) + C.ops.statistic(sc, C.params) * xn
                tot = tot + xp.sum(ell, axis=2) - xp.sum(C.ops.log_partition(xn, C.params, 1.0, C.width), axis=2)
            out.append(tot)
        return xp.stack(out, axis=-1)

    def conditional(self, state, block, beta=1.0):
        """Conditional distribution of each part of ``block`` given the rest.

        Returns one dict per part: ``{"logits": ...}`` (discrete: relative to the first
        support value; softmax: (chains, n, K)) or ``{"mean": ..., "var": ...}``.
        """
        state = self._check_state(state)
        T = self.statistic(state)
        return [self._part_conditional(state, T, p, beta) for p in self.block(block)]

    def block(self, block):
        return self.blocks[block] if isinstance(block, (int, np.integer)) else block

    def _part_conditional(self, state, T, part, beta, children=True, x=None):
        L = part.layer
        if x is None:
            x = self.field(T, part)
        key = part.key
        pp = self._part_params.get(key)
        if pp is None:
            pp = L.p(part.columns)
            if part.contiguous:  # views into the parameter arrays: in-place updates show through
                self._part_params[key] = pp
        if _column_major(x) and x.size <= _SPREAD_MAX:
            pp = self._spread_params(key, pp, x)
        cond = L.ops.conditional(x, pp, beta, L.width, consume=True)  # x is ours: fresh from field()
        if L.children and children:
            xp = self.xp
            if L.kind.onehot:
                values = [np.eye(L.width)[k] for k in range(L.width)]
                ct = self._children_term(state, T, part, values)
                cond = {"logits": cond["logits"] + beta * ct}
            else:
                vals = L.ops.d.values
                ct = self._children_term(state, T, part, [np.full(1, v) for v in vals])
                cond = {"logits": cond["logits"] + beta * (ct[..., 1:] - ct[..., :1])}
            del xp
        return cond

    def _spread_params(self, key, pp, x):
        """The part's per-unit parameters repeated over the chains in ``x``'s column-major
        layout: adding a row to a column-major array runs one short loop per unit, adding
        an array of the same layout runs at full speed. Kept while the parameters equal
        their snapshot (compared each call: one pass over the units, not the chains)."""
        xp = self.xp
        key = ("spread", key, x.shape)
        held = self._scratch.get(key)
        if held is not None and all(xp.array_equal(held[0][k], v) for k, v in pp.items() if k in held[0]):
            return held[1]
        snap = {k: v.copy() for k, v in pp.items() if getattr(v, "shape", ()) == x.shape[1:]}
        spread = dict(pp)
        for k, v in snap.items():
            spread[k] = xp.empty(x.shape, dtype=x.dtype, order="F")
            spread[k][...] = v
        self._scratch[key] = (snap, spread)
        return spread

    def part_columns(self, part):
        """Columns of a part in a state: a slice, or an int array for a set of units."""
        cs = part.columns
        if part.contiguous:
            return slice(part.layer.offset + cs.start, part.layer.offset + cs.stop)
        return part.layer.offset + cs

    def update_part(self, state, T, part, rng, beta=1.0, keep=None, mode="sample", children=True, count=False, x=None):
        """Redraw the units of ``part`` in place; keep ``T`` (the statistics) in step.

        ``mode="sample"`` draws from the conditional; ``"max"`` sets each unit to its most
        probable value (zero temperature; a tie keeps the current value; real units go to
        their mean). ``keep`` is a boolean mask (chains, columns) of clamped entries that
        must not change. With ``count=True`` returns the number of units whose value
        changed, per chain (else 0). ``x``, when given, is the part's coupling input, computed
        by the caller and given up to this call.
        """
        xp = self.xp
        L = part.layer
        cs = self.part_columns(part)
        cond = self._part_conditional(state, T, part, beta, children, x=x)
        old = state[:, cs]
        if mode == "sample":
            # nothing to compare against: draw into the state (a view, for a run of units)
            direct = keep is None and not count and part.contiguous
            new = L.ops.draw(cond, self._uniform(rng, "F" if _column_major(old) else "C"), lambda sh: rng.standard_normal(sh, dtype=self.dtype), L.width, out=old if direct else None, consume=True)
            if new is old:
                if T is not state:
                    T[:, cs] = L.ops.statistic(new, L.p(part.columns))
                return 0
        elif mode == "max":
            new = L.ops.mode(cond, old, L.width)
        else:
            raise ValueError(f"mode: expected 'sample' or 'max'; got {mode!r}")
        if keep is not None:
            new = xp.where(keep[:, cs], old, new)
        if not count:
            changed = 0
        elif L.width == 1:
            changed = xp.count_nonzero(new != old, axis=1)
        else:
            changed = xp.any((new != old).reshape(old.shape[0], -1, L.width), axis=2).sum(axis=1)
        state[:, cs] = new
        if T is not state:
            T[:, cs] = L.ops.statistic(new, L.p(part.columns))
        return changed

    def _uniform(self, rng, order="C"):
        """Uniform draws into a reused scratch buffer per shape and memory layout (no fresh
        memory per block; the layout of the state they are compared with)."""
        dtype = self.dtype

        def draw(shape):
            # per thread: one program may be sampled from several threads at once
            key = (shape, order, threading.get_ident())
            buf = self._scratch.get(key)
            if buf is None:
                buf = self._scratch[key] = self.xp.empty(shape, dtype=dtype, order=order)
            return uniform_into(rng, buf)

        return draw

    def check_blocks(self, blocks):
        """Raise ModelError unless every block is a set of conditionally independent units."""
        saved = self.blocks
        try:
            self.blocks = [tuple(b) for b in blocks]
            self._verify_blocks("blocks")
        except ModelError as exc:
            raise ModelError(f"{exc}; every unit must be in exactly one block, and units updated together must be conditionally independent") from None
        finally:
            self.blocks = saved

    def sample_block(self, state, block, rng=None, beta=1.0):
        """Return a copy of ``state`` with the units of ``block`` redrawn from their
        conditional at inverse temperature ``beta`` (uniform and normal draws only)."""
        state = self._check_state(state).copy()
        rng = self.rng if rng is None else as_generator(rng, self.backend)
        T = self.statistic(state)
        for part in self.block(block):
            L = part.layer
            cond = self._part_conditional(state, T, part, beta)
            new = L.ops.draw(cond, lambda s: rng.random(s, dtype=self.dtype), lambda s: rng.standard_normal(s, dtype=self.dtype), L.width)
            state[:, self.part_columns(part)] = new
        return state

    # ------------------------------------------------------------------ statistics
    def sufficient_stats(self, state, weights=None, summed=None, fields=None, out=None):
        """Batch average of ``-dE/dtheta`` for every parameter (same keys as ``params``).

        Parameters
        ----------
        state : array (chains, columns)
        weights : array (chains,), optional
            Weights of the chains (default: uniform ``1/chains``); they are used as given.
        summed : bool array (columns,), optional
            Units whose statistics are replaced by their conditional expectation given
            the others (e.g. the hidden units of an RBM: ``E[h | v]``).
        fields : dict {layer index: x}, optional
            Coupling inputs of summed layers the caller already computed (reused as is).
        out : dict, optional
            Arrays shaped like ``params`` to write the statistics into (returned); a
            training loop reuses them instead of allocating weight-sized arrays per batch.

        Notes
        -----
        For a lateral matrix the statistic of entry (i, j) is the derivative with
        respect to the coupling ``w_ij = L_ij = L_ji`` (so it equals ``<T_i T_j>``); for a
        directed weight it is ``T(s_parent) (T(s_child) - E[T(s_child) | parents])``.
        """
        xp = self.xp
        state = self._check_state(state)
        n = state.shape[0]
        uniform = weights is None
        w = xp.full(n, 1.0 / n, dtype=state.dtype) if uniform else xp.asarray(weights, dtype=state.dtype)
        direct = self._direct_stats()
        if direct is not None and (summed is None or not summed.any()):
            # every statistic is a weighted column sum or a weighted outer product of two
            # layers (an RBM's): no general pass
            res = {} if out is None else out
            for key, a, b in direct:
                if b is None:
                    res[key] = xp.matmul(w, state[:, a], out=res.get(key))
                else:
                    res[key] = _weighted_outer(xp, state[:, a], state[:, b], w[:, None], out=res.get(key))
            return res
        T = self.statistic(state)
        summed_x, summed_es = {}, {}
        if summed is not None and summed.any():
            if not self._independent(summed):
                raise ModelError("sufficient_stats: the summed units must be conditionally independent given the rest")
            given = [L for L in self.layers if summed[L.sl].all() and fields and L.index in fields]
            if len(given) == sum(bool(summed[L.sl].any()) for L in self.layers):
                T0 = None  # every summed layer whole, its input given: no masked copy needed
                T = T.copy() if T is state else T
            else:
                T0 = T * xp.asarray(~summed, dtype=T.dtype)
                T = T0.copy()
            for L in self.layers:
                m = summed[L.sl]
                if m.any():
                    x = fields[L.index] if fields and L.index in fields else self.field(T0, L)
                    summed_x[L.index] = x  # no coupling joins summed units: x is final
                    eT, summed_es[L.index] = L.ops.expectations(x, L.params, 1.0, L.width)
                    T[:, L.sl] = eT if T0 is None else xp.where(xp.asarray(m), eT, T0[:, L.sl])
        # residuals of directed children: T_c - E[T_c | parents]
        resid = {}
        for L in self.layers:
            if L.directed:
                x = self.field(T, L)
                resid[L.index] = (x, T[:, L.sl] - L.ops.expected_statistic(x, L.params, 1.0, L.width))
        res = {}
        for L in self.layers:
            has_summed = summed is not None and summed[L.sl].any()
            if L.ops.score_uses_x or L.children or (has_summed and L.index not in summed_x):
                x = self.field(T, L)  # the full coupling input (kinds whose scores need it)
                for c in L.children:
                    x = x + resid[c.b.index][1] @ c.dense().T
            else:
                x = summed_x.get(L.index, 0.0)  # scores of this kind do not depend on x
            if has_summed and L.index in summed_es and summed[L.sl].all():
                for k, v in summed_es[L.index].items():
                    res[f"{L.name}.{k}"] = w @ v
                continue
            sc = L.ops.score(state[:, L.sl], x, L.params)
            if L.directed:
                es = L.ops.expected_score(resid[L.index][0], L.params, 1.0, L.width)
                sc = {k: sc[k] - es[k] for k in sc}
            if has_summed:
                m = summed[L.sl]
                es = summed_es[L.index] if L.index in summed_es else L.ops.expected_score(x, L.params, 1.0, L.width)
                sc = es if m.all() else {k: xp.where(xp.asarray(m), es[k], sc[k]) for k in sc}
            for k, v in sc.items():
                res[f"{L.name}.{k}"] = w @ v
        for c in self.couplings:
            Ta = T[:, c.a.sl]
            Tb = resid[c.b.index][1] if c.type == "directed" else T[:, c.b.sl]
            if c.sparse:
                res[c.key] = w @ (Ta[:, xp.asarray(c.rows)] * Tb[:, xp.asarray(c.cols_)])
                continue
            G = out[c.key] if out is not None and c.type != "lateral" else None
            G = _weighted_outer(xp, Ta, Tb, (1.0 / n) if uniform else w[:, None], out=G)
            if c.type == "lateral":
                G = G - xp.diag(xp.diag(G))
                G = 0.5 * (G + G.T)
            res[c.key] = G
        if out is None:
            return res
        for k, v in res.items():
            if v is not out[k]:
                out[k][...] = v
        return out

    def _direct_stats(self):
        """``[(key, columns a, columns b or None)]`` when every parameter's statistic is a
        column sum of its layer's states (the bias of a binary or spin unit) or an outer
        product of two layers' states (a dense undirected coupling), else None. Structural:
        computed once."""
        if "direct stats" not in self._structural:
            direct = []
            for L in self.layers:
                for k in L.params:
                    direct.append((f"{L.name}.{k}", L.sl, None) if k in L.ops._score_is_state and not L.directed and not L.children else None)
            for c in self.couplings:
                direct.append((c.key, c.a.sl, c.b.sl) if c.type == "undirected" and not c.sparse else None)
            ok = self._identity_statistic and None not in direct
            self._structural["direct stats"] = direct if ok else None
        return self._structural["direct stats"]

    # ------------------------------------------------------------------ checks
    def _verify_blocks(self, where="compile"):
        """Every unit in exactly one part; no two units of a block coupled (moral graph)."""
        block_of = [np.full(L.n, -1) for L in self.layers]
        for bi, b in enumerate(self.blocks):
            for p in b:
                bo = block_of[p.layer.index]
                if (bo[p.units] != -1).any():
                    raise ModelError(f"{where}: units of {p.layer.name!r} are in two blocks")
                bo[p.units] = bi
        for L, bo in zip(self.layers, block_of):
            if (bo == -1).any():
                raise ModelError(f"{where}: units of {L.name!r} are in no block")

        def clash(a, b):
            return bool(np.intersect1d(a, b).size)

        parents = {}
        for c in self.couplings:
            ua, ub = block_of[c.a.index], block_of[c.b.index]
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
                if clash(ua, ub):
                    raise ModelError(f"{where}: a block holds two units coupled by {c.key}")
                if c.type == "directed":
                    if np.unique(ua).size != ua.size:
                        raise ModelError(f"{where}: a block holds two co-parents through {c.key}")
                    parents.setdefault((c.b.index, None), []).extend(ua.tolist())
        for bl in parents.values():
            if len(set(bl)) != len(bl):
                raise ModelError(f"{where}: a block holds two parents of one child")
