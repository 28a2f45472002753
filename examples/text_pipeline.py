"""Text classification with a Transformer inside a scikit-learn Pipeline
=====================================================================

A raw, noisy text column (HTML, shouting, stray spaces) goes in; TextCleaner
tidies it, TransformerClassifier learns a word vocabulary and a small
Transformer, and the result is scored beside a TF-IDF + logistic-regression
baseline on the same split. The figures show the learning curve, the two
models' confusion matrices and the attention of one test text. The data are
generated in code: nothing is downloaded. Runs in well under a minute on a
laptop CPU.
"""

# %%
import time

import matplotlib.pyplot as plt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sktfm import TextCleaner, TransformerClassifier
from sktfm.datasets import make_topic_texts
from sktfm.plotting import plot_attention, plot_learning_curve

# %%
# Data: four topics, 15% of content words borrowed from another topic.
X, y = make_topic_texts(3000, noise=0.15, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(f"{len(X_train)} training texts, e.g. {X_train[0]!r}")

# %%
# The Transformer pipeline.
model = make_pipeline(
    TextCleaner(lowercase=True),
    TransformerClassifier(
        d_model=64,
        n_heads=4,
        n_layers=2,
        dim_feedforward=128,
        max_epochs=12,
        batch_size=64,
        lr=2e-3,
        random_state=0,
    ),
)
start = time.perf_counter()
model.fit(X_train, y_train)
seconds = time.perf_counter() - start
transformer_accuracy = model.score(X_test, y_test)

# %%
# A classic baseline on the same split.
baseline = make_pipeline(
    TextCleaner(lowercase=True), TfidfVectorizer(), LogisticRegression(max_iter=1000)
)
baseline_accuracy = baseline.fit(X_train, y_train).score(X_test, y_test)

# %%
# Result.
print(f"TransformerClassifier test accuracy: {transformer_accuracy:.3f} (fit in {seconds:.1f} s)")
print(f"TF-IDF + LogisticRegression test accuracy: {baseline_accuracy:.3f}")
print(
    "predictions:",
    model.predict(
        ["The striker scored a late goal", "<b>NEW LAPTOP CHIP</b> and a faster browser"]
    ),
)

# %%
# The classifier's learning curve (the last step of the pipeline holds the
# fitted ``TransformerClassifier`` and its ``history_``), and where each
# model goes wrong on the test split.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), gridspec_kw={"width_ratios": [1.3, 1, 1]})
plot_learning_curve(model[-1], ax=axes[0])
axes[0].set_title("TransformerClassifier: learning curve")
for ax, name, fitted, accuracy in [
    (axes[1], "TransformerClassifier", model, transformer_accuracy),
    (axes[2], "TF-IDF + LogisticRegression", baseline, baseline_accuracy),
]:
    ConfusionMatrixDisplay.from_predictions(
        y_test, fitted.predict(X_test), ax=ax, colorbar=False, cmap="Blues"
    )
    ax.set_title(f"{name}\ntest accuracy {accuracy:.3f}")
    ax.tick_params(axis="x", labelrotation=30)
fig.tight_layout()

# %%
# Self-attention of one test text in the last layer, averaged over the
# heads: position 0 is the [CLS] token the classification head reads (its
# row shows which words it gathers), then the text's own tokens. The
# attention is read from the classifier, on the text as TextCleaner left it.
classifier = model[-1]
cleaned = model[:-1].transform(X_test[:1])
weights = classifier.attention_weights(cleaned)[0]
ids = classifier.tokenizer_.transform(cleaned)[0]
words = [classifier.tokenizer_.tokenizer_.id_to_token(int(i)).lstrip("\u2581") for i in ids]
tokens = (["[CLS]"] + words)[: weights.shape[-1]]  # "\u2581" marks a word start
ax = plot_attention(weights, x_labels=tokens, y_labels=tokens)
ax.set_title(f"{ax.get_title()}: a {y_test[0]!r} text, predicted {model.predict(X_test[:1])[0]!r}")
ax.figure.tight_layout()
plt.show()
