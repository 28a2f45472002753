"""Data sets generated in code, so that examples and tests never download."""

import numpy as np

from sklearn.utils import check_random_state

_TOPIC_WORDS = {
    "sports": (
        "match goal team coach league season player score referee stadium "
        "striker keeper final tournament victory defeat penalty champion "
        "training transfer injury fans derby midfield"
    ),
    "technology": (
        "software laptop chip startup cloud server code update battery screen "
        "network robot algorithm app device processor browser data security "
        "patch release gadget developer"
    ),
    "food": (
        "recipe kitchen flavour chef dinner soup bread spice dessert sauce "
        "restaurant menu bake grill cheese pasta salad breakfast oven taste "
        "vegetables dish lunch"
    ),
    "travel": (
        "flight hotel passport beach journey museum train luggage tourist "
        "island airport map guide cruise mountain visa hostel tour ticket "
        "border village coast trip"
    ),
}

_FILLER = (
    "the a an this that it was is very really quite some new old good bad "
    "great and but with for on in at of to after before today yesterday "
    "we they I you my our their about just more most many"
).split()


def make_topic_texts(n_samples=1000, *, noise=0.15, markup=0.1, random_state=None):
    """Generate short English-like texts about four topics.

    Each text mixes topic words with common filler words; ``noise`` of the
    content words are drawn from another topic, so the task is learnable but
    not trivial. A share ``markup`` of texts carries HTML tags, odd casing
    and repeated spaces, which :class:`~sktfm.TextCleaner` removes.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of texts.
    noise : float, default=0.15
        Share of content words taken from a different topic.
    markup : float, default=0.1
        Share of texts wrapped in HTML and shouted in upper case.
    random_state : int, RandomState instance or None, default=None
        Seed for repeatable data.

    Returns
    -------
    X : list of str of length n_samples
        The texts.
    y : ndarray of shape (n_samples,), dtype object
        The topic of each text: "sports", "technology", "food" or "travel".

    Examples
    --------
    >>> from sktfm.datasets import make_topic_texts
    >>> X, y = make_topic_texts(8, random_state=0)
    >>> len(X), set(y) <= {"food", "sports", "technology", "travel"}
    (8, True)
    """
    rng = check_random_state(random_state)
    topics = sorted(_TOPIC_WORDS)
    vocab = {topic: words.split() for topic, words in _TOPIC_WORDS.items()}
    labels = rng.randint(len(topics), size=n_samples)
    texts = []
    for label in labels:
        topic = topics[label]
        length = rng.randint(6, 18)
        words = []
        for _ in range(length):
            if rng.rand() < 0.55:
                words.append(str(rng.choice(_FILLER)))
                continue
            source = topic
            if rng.rand() < noise:
                source = topics[rng.randint(len(topics))]
            words.append(str(rng.choice(vocab[source])))
        text = " ".join(words)
        if rng.rand() < markup:
            text = f"<p>{text.upper()}</p>  <br/>"
        texts.append(text)
    return texts, np.array(topics, dtype=object)[labels]
