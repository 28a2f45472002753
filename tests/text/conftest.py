"""Small corpora shared by the text tests."""

import pytest

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "日本語のテキスト と 中文 文本",
    "party time 🎉🎉 with emoji 👍",
    "",
    "the end",
]


@pytest.fixture
def corpus():
    return list(CORPUS)
