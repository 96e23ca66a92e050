# %% [markdown]
# # Deep autoencoders against PCA, and deep stacking networks
#
# Two deep architectures from the end of the lecture, both trained without an autograd
# framework:
#
# * a **deep autoencoder** (Hinton & Salakhutdinov 2006) squeezes each image through a
#   narrow *code* layer and rebuilds it. Trained from random weights it gets stuck; the
#   recipe is to pre-train a stack of RBMs greedily, unroll them into an encoder and a
#   decoder (the decoder uses the transposed weights), and only then fine-tune the whole
#   network by backpropagation of the reconstruction error;
# * a **deep stacking network** (Deng & Yu 2011) stacks small modules whose linear output
#   layer is solved in closed form, each module reading the raw input and the predictions
#   of the modules below.
#
# The data are the 8x8 digits (pixel intensities in [0, 1]); the MNIST run of the paper's
# 784-1000-500-250-30 autoencoder is `benchmarks/autoencoder.py`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import graphmrf as gm
from graphmrf import autoencoder as ae
from graphmrf import dsn
from graphmrf import feedforward as ff
from graphmrf.plots import show

FAST = os.environ.get("GRAPHMRF_FAST") == "1"

X, y = gm.datasets.digits()
train, test, y_train, y_test = X[:1400], X[1400:], y[:1400], y[1400:]

# %% [markdown]
# ## Pre-train, unroll
#
# A 64-32-16-8 stack: binary hidden units, and 8 *linear* code units (Gaussian with unit
# variance, held fixed while the top RBM learns). Unrolled, the network's output before
# any fine-tuning is the stack's mean-field reconstruction: up through $E[h \mid v]$ of
# each RBM, back down through $E[v \mid h]$.

# %%
sizes = [64, 32, 16, 8]
epochs = 3 if FAST else 20
rbms = ae.pretrain(train, sizes, epochs=epochs, lr=0.1, code_lr=0.01, batch_size=20, momentum=0.5, seed=0)
net = ff.autoencoder(rbms)
print(net)
pca = ae.squared_error(ae.pca_reconstruction(train, test, 8), test)
print(
    f"squared error per test image: unrolled stack {ae.reconstruction_error(net, test):.2f}, "
    f"PCA with 8 components {pca:.2f}"
)

# %% [markdown]
# ## Fine-tune: conjugate gradients or momentum
#
# Hinton & Salakhutdinov fine-tuned by conjugate gradients: on groups of rows, three line
# searches of `scipy.optimize.minimize(method="CG")` from the current weights. Mini-batch
# gradient descent with momentum is the other choice. The loss is the cross-entropy of the
# pixels (sigmoid outputs).

# %%
nets, curves = {}, {}
for method, options in (
    ("cg", dict(batch_size=200, line_searches=3)),
    ("sgd", dict(batch_size=20, lr=0.1, momentum=0.9)),
):
    nets[method] = ff.autoencoder(rbms)
    hist = ae.fine_tune(
        nets[method], train, method=method, epochs=5 if FAST else 40, validation=test, seed=0, **options
    )
    curves[method] = [ae.squared_error(ae.reconstruct(nets[method], test), test)]
    print(
        f"{method}: squared error per test image {curves[method][0]:.2f} after {len(hist['epoch'])} epochs "
        f"({hist.seconds:.1f} s); PCA {pca:.2f}"
    )
best = min(nets, key=lambda m: curves[m][0])

# %% [markdown]
# ## Reconstructions
#
# One test digit of each class, rebuilt from its 8 numbers by the autoencoder and by PCA.

# %%
idx = [int(np.flatnonzero(y_test == d)[0]) for d in range(10)]
fig = ae.plot_reconstructions(
    test[idx],
    {"autoencoder": ae.reconstruct(nets[best], test[idx]), "PCA": ae.pca_reconstruction(train, test[idx], 8)},
    (8, 8),
    labels=y_test[idx],
)
show(fig, "11_reconstructions")

# %% [markdown]
# ## A 2-D code map
#
# With a code of two linear units the test set can be drawn: each image is a point, and
# the classes separate without the labels ever being used. PCA's first two components,
# for comparison.

# %%
rbms2 = ae.pretrain(train, [64, 32, 16, 2], epochs=epochs, lr=0.1, code_lr=0.01, batch_size=20, momentum=0.5, seed=1)
net2 = ff.autoencoder(rbms2)
ae.fine_tune(net2, train, method="sgd", epochs=5 if FAST else 60, batch_size=20, lr=0.1, momentum=0.9, seed=1)
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 5))
ae.plot_code_map(ae.encode(net2, test), y_test, ax=a, title="autoencoder 64-32-16-2")
mean = train.mean(axis=0)
_, _, Vt = np.linalg.svd(train - mean, full_matrices=False)
ae.plot_code_map((test - mean) @ Vt[:2].T, y_test, ax=b, title="PCA, first two components")
fig.tight_layout()
show(fig, "11_code_map")

# %% [markdown]
# ## Denoising
#
# With *masking noise* the network is fine-tuned on inputs with a fraction of their pixels
# zeroed (drawn afresh each step) and asked for the clean image -- the lecture's way to let
# a code layer be wide without learning the identity.

# %%
noisy = ff.autoencoder(rbms)
ae.fine_tune(
    noisy, train, method="sgd", epochs=5 if FAST else 40, batch_size=20, lr=0.1, momentum=0.9, masking=0.3, seed=0
)
masked = test * (np.random.default_rng(1).random(test.shape) >= 0.3)
for name, model in (("plain", nets["sgd"]), ("denoising", noisy)):
    print(
        f"{name:>9}: squared error rebuilding the clean test digits from 30%-masked ones "
        f"{ae.squared_error(ae.reconstruct(model, masked), test):.2f}"
    )

# %% [markdown]
# ## Deep stacking networks
#
# Each module has sigmoid hidden units and a linear output layer $U$ that is a ridge
# regression given the hidden activations -- solved in closed form, so only the hidden
# weights are learned (by L-BFGS on the whole training set). Module $k$ reads the input and
# the predictions of modules $1 \dots k-1$, and starts from module $k-1$'s weights, so the
# training objective never rises as modules are stacked.

# %%
T = np.eye(10)[y_train]
net_dsn = dsn.fit(train, T, n_modules=2 if FAST else 4, n_hidden=100, iterations=10 if FAST else 40, seed=0)
print(net_dsn)
accuracy = [float((Y.argmax(axis=1) == y_test).mean()) for Y in net_dsn.outputs(test)]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(range(1, net_dsn.n_modules + 1), net_dsn.history["objective"], "o-", label="training objective / n")
ax2 = ax.twinx()
ax2.plot(range(1, net_dsn.n_modules + 1), accuracy, "s--", color="C1", label="test accuracy")
ax.set_xlabel("modules stacked")
ax.set_ylabel("objective")
ax2.set_ylabel("test accuracy")
ax.set_title("a deep stacking network on digits")
fig.tight_layout()
show(fig, "11_stacking")
print("test accuracy by depth:", np.round(accuracy, 3).tolist())
