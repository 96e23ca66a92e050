# %% [markdown]
# # Deep belief nets: greedy layers, the bound, generated digits, labels, and a DBN-DNN
#
# A deep belief net is an RBM on its top two layers over a directed sigmoid net:
# $p(v, h_1, \dots, h_L) = p(h_{L-1}, h_L) \prod_k p(h_{k-1} \mid h_k)$. Learning one
# directly is hard (explaining away couples the hidden causes), but Hinton, Osindero & Teh
# (2006) found a way round it: train an RBM, freeze it, train another RBM on its hidden
# activities, and repeat. In graphmrf a DBN is a graph like any other -- `gm.dbn` declares
# one -- and `graphmrf.deep_belief` holds the algorithms that build and use it.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf import deep_belief as db
from graphmrf import feedforward as ff
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"
X, y = gm.datasets.digits(binarize="threshold")
order = np.random.default_rng(0).permutation(len(X))
X, y = X[order], y[order]
train, ytrain, test, ytest = X[:1400], y[:1400], X[1400:], y[1400:]
if FAST:
    train, ytrain = train[:300], ytrain[:300]

# %% [markdown]
# ## Greedy training, one RBM at a time
#
# The lecture's algorithm (Bengio 2009, Algorithm 2): train an RBM on the data, freeze it,
# hand the next RBM the hidden units' probabilities $E[h \mid v]$ (or samples:
# `inputs="samples"`), repeat. Every layer is trained by `gm.fit` with all its options --
# here CD-1 with momentum -- and keeps its own History. (The lab's rule, training each
# layer until its reconstruction error falls below a threshold, is
# `stop_when=gm.monitors.Threshold("reconstruction_error", below=0.05)`: each layer gets its
# own copy.) As in Hinton et al. (2006) the labels, one softmax unit of 10 categories, join
# the top RBM.

# %%
result = db.greedy(
    train,
    [64, 100, 200],
    labels=ytrain,
    n_labels=10,
    epochs=3 if FAST else 40,
    lr=0.1,
    rule="cd",
    batch_size=20,
    momentum=0.5,
    monitors=("reconstruction_error",),
    seed=0,
)
print(result.dbn)
print("parameters:", sorted(result.dbn.params), "\nrecognition:", sorted(result.dbn.recognition_params))
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for k, (hist, ax) in enumerate(zip(result.histories, axes), start=1):
    ax.plot(hist["epoch"], hist["reconstruction_error"], ".-")
    ax.set(title=f"layer {k}: RBM h{k - 1} -> h{k}", xlabel="epoch", ylabel="reconstruction error")
fig.tight_layout()
show(fig, "09_greedy_layers")

# %% [markdown]
# ## Why stacking works: the variational bound
#
# For any recognition model $q(h \mid v)$,
# $\log p(v) \ge \sum_h q(h \mid v)\,[\log p(h) + \log p(v \mid h) - \log q(h \mid v)]$.
# Start the second layer as the *transpose* of the first: the DBN then defines exactly the
# first RBM's $p(v)$, $q$ is the true posterior, and the bound is tight. Training the top
# RBM changes only $\log p(h)$, and fitting it to the *aggregated posterior* -- the
# distribution of $h \sim q(h \mid v)$ over the data -- can only raise the bound. On a
# 4-pixel problem every term is enumerated exactly. The first RBM is trained only briefly,
# so that its prior over $h$ leaves the second layer something to gain.

# %%
tiny = gm.datasets.bars_and_stripes(2)
first = gm.compile(gm.rbm(4, 3, seed=0, scale=1.0), dtype=np.float64)
gm.fit(first, tiny, epochs=3, lr=0.2, rule="exact", monitors=())
top = db.transpose(first)
# the aggregated posterior as data: each of the 8 hidden states, repeated in proportion to
# its probability sum_v q(h | v) / 6
states = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=float)
P = db.hidden_probabilities(first, tiny)
q_bar = np.mean([np.prod(np.where(states == 1, p, 1 - p), axis=1) for p in P], axis=0)
H = np.repeat(states, np.round(2000 * q_bar).astype(int), axis=0)
bound, truth = [], []


def measure(program, history):
    dbn = db.stack([first, program])
    bound.append(db.log_likelihood_bound(dbn, tiny))
    truth.append(gm.exact.log_likelihood(dbn, tiny))


measure(top, None)
gm.fit(top, H, epochs=10 if FAST else 60, lr=0.2, rule="exact", monitors=(), callbacks=[measure])
print(f"first RBM log p(v) {gm.exact.log_likelihood(first, tiny):.4f}; bound at the start {bound[0]:.4f}")
print(f"after training the top layer: bound {bound[-1]:.4f} <= log p(v) {truth[-1]:.4f}")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(truth, label="log p(v) (exact)")
ax.plot(bound, "--", label="variational bound (exact)")
ax.set(xlabel="epoch of the second layer", ylabel="mean per pattern")
ax.legend()
fig.tight_layout()
show(fig, "09_bound")

# %% [markdown]
# ## Generated digits
#
# Generation is Gibbs sampling in the top RBM, then one pass down the directed layers.
# Clamping the label unit generates a chosen class (a tiny DBN's samples are checked against
# its exact distribution by `gm.verify(..., method="ancestral")`). The images shown are the
# final pass's pixel probabilities $p(v \mid h_1)$ (`mean=True`), as is customary.

# %%
digits_wanted = np.repeat(np.arange(10), 6)
V = db.generate(result.dbn, len(digits_wanted), sweeps=50 if FAST else 1000, labels=digits_wanted, mean=True, seed=0)
ax = gm.plots.tiles(np.asarray(V), (8, 8), ncols=6, title="generated, one row per label")
show(ax, "09_generated_digits")

# %% [markdown]
# ## The label layer classifies; up-down fine-tunes the generative model
#
# Given an image, the recognition weights give the penultimate layer's probabilities, and
# the top RBM's free energy $F(h, y)$ of each label gives $p(y \mid h) \propto e^{-F(h, y)}$
# exactly. The up-down algorithm (contrastive wake-sleep) then fine-tunes the untied
# recognition and generative weights.

# %%
before = np.mean(db.classify(result.dbn, test) == ytest)
up = db.up_down(
    result.dbn,
    train,
    labels=ytrain,
    epochs=2 if FAST else 20,
    lr=0.01,
    k=3,
    batch_size=20,
    validation=(test, ytest),
    seed=0,
)
print(
    f"label DBN test accuracy: {before:.3f} after greedy training, {1 - up['validation_error'][-1]:.3f} after up-down"
)

# %% [markdown]
# ## DBN-DNN: the stack as a feed-forward network, fine-tuned by backpropagation
#
# Unrolled, the greedy stack is a sigmoid network whose first layer computes exactly the
# first RBM's $p(h \mid v)$; a softmax layer on top makes it a classifier, fine-tuned by
# backpropagation of the cross-entropy with early stopping. (In scikit-learn terms:
# `graphmrf.sklearn.DBNClassifier`.)

# %%
net = db.unroll(db.stack(result.rbms), n_classes=10, seed=0)
assert np.allclose(net.activations(test)[0], db.hidden_probabilities(result.rbms[0], test), atol=1e-6)
hist = ff.fit(
    net,
    train,
    ytrain,
    epochs=5 if FAST else 100,
    lr=0.1,
    momentum=0.9,
    batch_size=20,
    validation=(test[:200], ytest[:200]),
    patience=10,
    seed=0,
)
dnn = np.mean(net.forward(test[200:]).argmax(axis=1) == ytest[200:])
from sklearn.linear_model import LogisticRegression  # noqa: E402

lr = LogisticRegression(max_iter=3000).fit(train, ytrain).score(test[200:], ytest[200:])
print(f"held-out accuracy: DBN-DNN {dnn:.3f}, logistic regression {lr:.3f}")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(hist["epoch"], hist["validation_accuracy"], ".-")
ax.set(xlabel="epoch of backpropagation", ylabel="validation accuracy", title="DBN-DNN fine-tuning")
fig.tight_layout()
show(fig, "09_dbn_dnn")
