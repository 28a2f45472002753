"""Deploying a fitted model with ONNX Runtime
==========================================

A TransformerClassifier learns scikit-learn's bundled handwritten digits
(real data: each of the 64 pixels is a token), then ``export_onnx`` writes
its network, with the feature scaling built in, to a folder. OnnxPredictor
serves that folder with ONNX Runtime and NumPy only: a service needs
neither torch nor scikit-learn. The two give the same probabilities; the
figure compares their latency per batch size. Runs in about a minute.
"""

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sktfm import TransformerClassifier
from sktfm.onnx import OnnxPredictor

# %%
# Fit a small classifier on the digits.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
clf = TransformerClassifier(
    d_model=32, n_heads=4, n_layers=2, dim_feedforward=64, max_epochs=10, random_state=0
).fit(X_train, y_train)
print(f"sktfm test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Export: one graph from raw pixel values to class probabilities, dynamic
# batch axis, and the config a service reads (classes, feature count).
folder = clf.export_onnx(Path(tempfile.mkdtemp()) / "digits_onnx")
for path in sorted(folder.iterdir()):
    print(f"{path.name:18s} {path.stat().st_size / 1e3:8.1f} kB")

# %%
# Serve: the same predictions from ONNX Runtime.
predictor = OnnxPredictor(folder)
difference = np.abs(predictor.predict_proba(X_test) - clf.predict_proba(X_test)).max()
same = (predictor.predict(X_test) == clf.predict(X_test)).mean()
print(f"largest probability difference: {difference:.1e}; same label on {same:.0%} of the test set")


# %%
# Latency per call, for a few batch sizes (median of 20 calls each).
def median_ms(function, batch):
    times = []
    for _ in range(20):
        start = time.perf_counter()
        function(batch)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


sizes = [1, 8, 64, 256]
sktfm_ms = [median_ms(clf.predict_proba, X_test[:n]) for n in sizes]
onnx_ms = [median_ms(predictor.predict_proba, X_test[:n]) for n in sizes]
for n, a, b in zip(sizes, sktfm_ms, onnx_ms):
    print(f"batch {n:4d}: sktfm {a:7.2f} ms, ONNX Runtime {b:7.2f} ms")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(sizes, sktfm_ms, "o-", label="sktfm predict_proba")
ax.plot(sizes, onnx_ms, "s-", label="OnnxPredictor.predict_proba")
ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="ms per call")
ax.set_title("Digits classifier: latency per call")
ax.legend()
fig.tight_layout()
