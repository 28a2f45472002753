"""Fingerprints of fits on real data: the same digests at two commits mean bit-identical fits.

A change that must not alter what a fit computes (a refactoring, such as #32's
fit plan) is checked by running this script with the code before and after
it, on the same machine::

    python benchmarks/fit_fingerprints.py > after.txt
    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before python benchmarks/fit_fingerprints.py > before.txt
    diff before.txt after.txt

Each line names a fit (estimator, input kind, real data set) and gives the
SHA-256 (first 16 hex digits) of its outputs on held-out rows, as bytes: any
change in any weight shows. The fits use the defaults, every "auto" resolved
from the data, with ``max_epochs`` fixed to keep them short; continued
training and a save/load round trip are fingerprinted too. About 5 minutes
on one CPU core. Nothing is recorded in RESULTS.md: the digests mean nothing
on their own, only beside another run's.
"""

import hashlib
import os
import tempfile
import warnings

import numpy as np
import torch
from _real_data_sets import debian_descriptions, section_task
from sklearn.datasets import load_diabetes, load_digits

import sktfm
from sktfm import Seq2SeqTranslator, TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.datasets import load_gettext_pairs


def digest(values):
    """First 16 hex digits of the SHA-256 of ``values``: numbers as bytes, text as UTF-8."""
    values = np.asarray(values)
    if values.dtype.kind in "fiub":
        data = np.ascontiguousarray(values).tobytes()
    else:  # translations: an object array's bytes would be pointers
        data = "\x1f".join(map(str, values.ravel())).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def fits():
    """(name, fitted model, method, held-out input) of every fingerprinted fit."""
    digits_X, digits_y = load_digits(return_X_y=True)
    diabetes_X, diabetes_y = load_diabetes(return_X_y=True)
    X_text, y_text, X_text_test, _, _ = section_task(debian_descriptions()[0])
    src, src_test, tgt, _ = load_gettext_pairs("de")
    src, tgt, src_test = src[:1500], tgt[:1500], src_test[:40]
    series = digits_X.reshape(-1, 8, 8)  # 8 rows of 8 pixels: a 2-D series per digit

    short = dict(max_epochs=3, random_state=0, device="cpu")
    yield (
        "classifier text (Debian descriptions)",
        TransformerClassifier(**short).fit(X_text, y_text),
        "predict_proba",
        X_text_test,
    )
    tabular = TransformerClassifier(**short).fit(digits_X[:1200], digits_y[:1200])
    yield "classifier tabular (digits)", tabular, "predict_proba", digits_X[1200:]
    tabular.partial_fit(digits_X[:1200], digits_y[:1200])
    yield "classifier tabular, partial_fit", tabular, "predict_proba", digits_X[1200:]
    with tempfile.TemporaryDirectory() as folder:
        tabular.save(os.path.join(folder, "model"))
        loaded = sktfm.load(os.path.join(folder, "model"))
    yield "classifier tabular, saved and loaded", loaded, "predict_proba", digits_X[1200:]
    yield (
        "regressor tabular (diabetes)",
        TransformerRegressor(**short).fit(diabetes_X[:350], diabetes_y[:350]),
        "predict",
        diabetes_X[350:],
    )
    yield (
        "encoder series, self-supervised (digits rows)",
        TransformerEncoder(**short).fit(series[:1200]),
        "transform",
        series[1200:],
    )
    yield (
        "encoder text, supervised (Debian descriptions)",
        TransformerEncoder(**short).fit(X_text, y_text),
        "transform",
        X_text_test,
    )
    translator = Seq2SeqTranslator(max_epochs=2, random_state=0, device="cpu").fit(src, tgt)
    yield "translator (gettext en-de), encoder states", translator, "transform", src_test
    yield "translator (gettext en-de), translations", translator, "predict", src_test


def main():
    # One thread by default: a multi-threaded BLAS may split a product
    # differently when the machine is busy, which changes the last bits.
    torch.set_num_threads(int(os.environ.get("SKTFM_BENCH_THREADS", "1")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short fits warn that they still improve
        for name, model, method, X in fits():
            print(f"{name}: {digest(getattr(model, method)(X))}", flush=True)


if __name__ == "__main__":
    main()
