"""DBN-DNN quality on scikit-learn's 8x8 digits, against logistic regression and networks of
the same shape without pre-training; and the generative DBN with a label layer.

On each of ``--splits`` stratified splits (1,197 training and 600 test images, pixels / 16 in
[0, 1]), the test accuracy and the run time of:
  * LogisticRegression (scikit-learn, lbfgs, C = 1);
  * MLPClassifier of the same shape (scikit-learn: logistic hidden units, SGD with momentum
    0.9 and the same rate and batch size as ours; and its default, Adam with ReLU units),
    early stopping on 10 % of the training rows -- no pre-training;
  * FeedForwardClassifier: graphmrf's network of that shape, same fine-tuning, no pre-training;
  * DBNClassifier: the same network started from greedily pre-trained RBMs (a DBN-DNN);
  * the label DBN (greedy training with the labels joined to the top RBM, Hinton et al. 2006):
    classification by free energy, after greedy training and after up-down fine-tuning.
Pre-training: CD-1, 40 epochs per layer at rate 0.1, momentum 0.5, batches of 20 (the
tutorial's settings). Mean and standard deviation over the splits; about 5 minutes on two
busy cores.
"""

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import graphmrf as gm
from graphmrf import deep_belief as db
from graphmrf.sklearn import DBNClassifier, FeedForwardClassifier


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    ap.add_argument("--pretrain-epochs", type=int, default=40)
    ap.add_argument("--pretrain-lr", type=float, default=0.1)
    ap.add_argument("--updown-epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = gm.datasets.digits()
    shape = tuple(args.hidden)
    tune = dict(learning_rate=0.1, momentum=0.9, batch_size=50, max_iter=300, early_stopping=True, patience=15)
    models = {
        "LogisticRegression": lambda s: LogisticRegression(max_iter=5000),
        f"MLPClassifier {shape} logistic SGD": lambda s: MLPClassifier(
            shape,
            activation="logistic",
            solver="sgd",
            learning_rate_init=0.1,
            momentum=0.9,
            batch_size=50,
            max_iter=300,
            early_stopping=True,
            n_iter_no_change=15,
            random_state=s,
        ),
        f"MLPClassifier {shape} default (Adam, ReLU)": lambda s: MLPClassifier(
            shape, max_iter=300, early_stopping=True, n_iter_no_change=15, random_state=s
        ),
        f"FeedForwardClassifier {shape} (no pre-training)": lambda s: FeedForwardClassifier(
            shape, random_state=s, **tune
        ),
        f"DBNClassifier {shape} (DBN-DNN)": lambda s: DBNClassifier(
            shape, pretrain_epochs=args.pretrain_epochs, pretrain_learning_rate=args.pretrain_lr, random_state=s, **tune
        ),
    }
    scores = {name: [] for name in models}
    scores["label DBN, greedy (free energy)"] = []
    scores["label DBN, + up-down"] = []
    seconds = {name: [] for name in scores}
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for split in range(args.splits):
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=600, stratify=y, random_state=split)
            for name, make in models.items():
                t = time.perf_counter()
                acc = make(split).fit(Xtr, ytr).score(Xte, yte)
                seconds[name].append(time.perf_counter() - t)
                scores[name].append(acc)
            t = time.perf_counter()
            result = db.greedy(
                Xtr,
                [64, *shape],
                labels=ytr,
                n_labels=10,
                epochs=args.pretrain_epochs,
                lr=args.pretrain_lr,
                rule="cd",
                batch_size=20,
                momentum=0.5,
                monitors=(),
                seed=split,
            )
            scores["label DBN, greedy (free energy)"].append(np.mean(db.classify(result.dbn, Xte) == yte))
            seconds["label DBN, greedy (free energy)"].append(time.perf_counter() - t)
            db.up_down(
                result.dbn, Xtr, labels=ytr, epochs=args.updown_epochs, lr=0.01, k=[3, 6, 10], batch_size=20, seed=split
            )
            scores["label DBN, + up-down"].append(np.mean(db.classify(result.dbn, Xte) == yte))
            seconds["label DBN, + up-down"].append(time.perf_counter() - t)
            print(f"split {split}: " + ", ".join(f"{s[-1]:.3f}" for s in scores.values()), flush=True)
    print(f"\ndigits, {args.splits} stratified splits (1197 train / 600 test), {args.threads} threads")
    print(f"{'model':<52} {'test accuracy':>17} {'seconds':>8}")
    for name in scores:
        a = np.array(scores[name])
        print(f"{name:<52} {a.mean():.4f} +- {a.std():.4f} {np.mean(seconds[name]):8.1f}")


if __name__ == "__main__":
    main()
