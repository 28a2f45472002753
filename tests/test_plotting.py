"""sktfm.plotting: attention heat maps and learning curves (the ``plot`` extra)."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from skorch.history import History  # noqa: E402

import sktfm  # noqa: E402
from sktfm.plotting import plot_attention, plot_learning_curve  # noqa: E402

PLOTTING = Path(sktfm.__file__).with_name("plotting.py")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def weights():
    """One sample's attention: 3 layers, 4 heads, 5 queries over 6 keys, rows sum to 1."""
    rng = np.random.default_rng(0)
    return rng.dirichlet(np.ones(6), size=(3, 4, 5)).astype(np.float32)


@pytest.fixture
def history():
    """A skorch History as a fit writes it, with a batch list and *_best flags."""
    h = History()
    rows = [(2.5, 2.4, 1.0), (1.7, 1.9, 6.5), (1.2, 1.6, 11.0), (0.9, 1.7, 10.2)]
    for epoch, (train, valid, bleu) in enumerate(rows, start=1):
        h.new_epoch()
        h.record("epoch", epoch)
        h.new_batch()
        h.record_batch("train_loss", train + 0.1)
        h.record("train_loss", np.float64(train))
        h.record("valid_loss", valid)
        h.record("valid_loss_best", valid == min(r[1] for r in rows[:epoch]))
        h.record("valid_bleu", bleu)
        h.record("dur", 0.5)
    return h


def _tick_texts(labels):
    return [label.get_text() for label in labels]


# ---------------------------------------------------------------- attention
def test_heat_map_is_the_mean_over_heads_of_the_last_layer(weights):
    ax = plot_attention(weights)
    image = ax.images[0].get_array()
    assert image.shape == (5, 6)
    np.testing.assert_allclose(image, weights[-1].astype(np.float64).mean(axis=0))
    assert ax.get_title() == "layer 2, mean of 4 heads"
    assert ax.get_xlabel() == "key" and ax.get_ylabel() == "query"


@pytest.mark.parametrize("layer, head", [(0, 0), (1, 3), (-1, -1), (-3, 2)])
def test_one_layer_and_head(weights, layer, head):
    ax = plot_attention(weights, layer=layer, head=head)
    np.testing.assert_allclose(ax.images[0].get_array(), weights[layer, head])
    assert ax.get_title() == f"layer {layer % 3}, head {head % 4}"


def test_ticks_carry_the_tokens_and_a_colorbar_is_drawn(weights):
    keys = ["▁the", "▁red", "▁cat", "▁sat", "▁down", "."]
    queries = ["[BOS]", "le", "chat", "rouge", "s'assit"]
    ax = plot_attention(weights, x_labels=keys, y_labels=queries)
    assert _tick_texts(ax.get_xticklabels()) == keys
    assert _tick_texts(ax.get_yticklabels()) == queries
    np.testing.assert_array_equal(ax.get_xticks(), np.arange(6))
    np.testing.assert_array_equal(ax.get_yticks(), np.arange(5))
    colorbars = [other for other in ax.figure.axes if other is not ax]
    assert len(colorbars) == 1 and colorbars[0].get_ylabel() == "attention weight"
    assert ax.images[0].colorbar is not None


def test_draws_on_a_given_axes_and_accepts_lists(weights):
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot_attention(weights.tolist(), ax=right, head=1)
    assert ax is right and not left.images
    np.testing.assert_allclose(right.images[0].get_array(), weights[-1, 1], rtol=1e-6)


def test_single_head_title_is_singular():
    ax = plot_attention(np.full((1, 1, 2, 2), 0.5))
    assert ax.get_title() == "layer 0, mean of 1 head"


@pytest.mark.parametrize("shape", [(5, 6), (4, 5, 6), (2, 3, 4, 5, 6)])
def test_wrong_ndim(shape):
    with pytest.raises(ValueError, match="4-D array"):
        plot_attention(np.random.default_rng(0).random(shape) + 0.1)


def test_the_whole_list_of_samples_is_refused_with_a_hint(weights):
    ragged = [weights, weights[:, :, :3, :4]]
    with pytest.raises(ValueError, match=r"attention_weights\(X\)\[0\]"):
        plot_attention(ragged)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layer": 3}, r"layer=3 is out of range: the weights hold 3 layers \(valid: -3 to 2\)"),
        ({"layer": -4}, "layer=-4 is out of range"),
        ({"head": 4}, r"head=4 is out of range: the weights hold 4 heads"),
        ({"head": -5}, "head=-5 is out of range"),
        ({"x_labels": list("abcde")}, "x_labels has 5 labels but the attention map has 6 key"),
        ({"y_labels": list("abcdef")}, "y_labels has 6 labels but the attention map has 5 query"),
    ],
)
def test_out_of_range_and_label_count(weights, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_attention(weights, **kwargs)


@pytest.mark.parametrize("kwargs", [{"layer": 1.0}, {"head": True}, {"x_labels": "abcdef"}])
def test_wrong_types(weights, kwargs):
    with pytest.raises(TypeError):
        plot_attention(weights, **kwargs)


def test_empty_and_non_finite_weights(weights):
    with pytest.raises(ValueError, match="empty"):
        plot_attention(np.ones((1, 2, 0, 3)))
    weights[-1, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        plot_attention(weights)
    plot_attention(weights, layer=0)  # only the drawn layer has to be finite


# ----------------------------------------------------------- learning curve
def test_default_curves_are_the_losses_and_bleu_on_a_twin_axis(history):
    ax = plot_learning_curve(history)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["train_loss", "valid_loss"]
    np.testing.assert_array_equal(lines["train_loss"].get_xdata(), [1, 2, 3, 4])
    assert lines["train_loss"].get_ydata().tolist() == [2.5, 1.7, 1.2, 0.9]
    assert lines["valid_loss"].get_ydata().tolist() == [2.4, 1.9, 1.6, 1.7]
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    (bleu,) = twin.get_lines()
    assert bleu.get_label() == "valid_bleu"
    assert bleu.get_ydata().tolist() == [1.0, 6.5, 11.0, 10.2]
    assert twin.get_ylabel() == "valid_bleu" and ax.get_ylabel() == "loss"
    assert ax.get_xlabel() == "epoch"
    # One legend names all three curves, in three different colours.
    assert _tick_texts(ax.get_legend().get_texts()) == ["train_loss", "valid_loss", "valid_bleu"]
    colors = {line.get_color() for line in [*ax.get_lines(), bleu]}
    assert len(colors) == 3


def test_estimator_like_object_list_of_dicts_and_explicit_metrics(history):
    class Fitted:
        history_ = history

    ax = plot_learning_curve(Fitted(), metrics="valid_bleu")
    (line,) = ax.get_lines()
    assert line.get_ydata().tolist() == [1.0, 6.5, 11.0, 10.2]
    assert len(ax.figure.axes) == 1  # no loss drawn: the score uses the left axis

    plain = [{"train_loss": 3.0, "dur": 1.0}, {"train_loss": 2.0, "dur": 1.1}]
    ax = plot_learning_curve(plain, metrics=["train_loss", "dur"])
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2])  # no "epoch" key
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    assert twin.get_lines()[0].get_ydata().tolist() == [1.0, 1.1]


def test_epochs_missing_a_value_are_left_out_of_that_line():
    epochs = [
        {"epoch": 1, "train_loss": 2.0},
        {"epoch": 2, "train_loss": 1.5, "valid_loss": 1.4},
        {"epoch": 3, "train_loss": 1.0, "valid_loss": None},
    ]
    ax = plot_learning_curve(epochs)
    valid = ax.get_lines()[1]
    np.testing.assert_array_equal(valid.get_xdata(), [2])
    assert valid.get_ydata().tolist() == [1.4]


def test_unfitted_estimator_raises_not_fitted():
    with pytest.raises(NotFittedError, match="fit it before plotting"):
        plot_learning_curve(sktfm.Seq2SeqTranslator())


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ([], ValueError, "history is empty"),
        ([{"epoch": 1, "dur": 0.1}], ValueError, "no numeric key ending in '_loss'"),
        ("train_loss", TypeError, "expects a fitted estimator"),
        ({"train_loss": 1.0}, TypeError, "expects a fitted estimator"),
        ([1.0, 2.0], TypeError, "dict of one epoch"),
    ],
)
def test_bad_histories(bad, error, message):
    with pytest.raises(error, match=message):
        plot_learning_curve(bad)


def test_unknown_metric_names_the_available_keys(history):
    with pytest.raises(ValueError, match=r"\['valid_acc'\].*'train_loss', 'valid_loss'"):
        plot_learning_curve(history, metrics=["train_loss", "valid_acc"])
    with pytest.raises(ValueError, match="valid_loss_best"):  # a bool is not a number
        plot_learning_curve(history, metrics=["valid_loss_best"])


# ------------------------------------------------------------ import rules
def test_module_imports_no_torch_sklearn_or_estimators_at_top():
    tree = ast.parse(PLOTTING.read_text(encoding="utf-8"))
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            top.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Try):
            top.update(
                alias.name
                for stmt in node.body
                if isinstance(stmt, ast.Import)
                for alias in stmt.names
            )
    assert top == {"numbers", "collections.abc", "numpy", "matplotlib"}


def test_standalone_import_loads_neither_torch_nor_sklearn_nor_pyplot():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('plotting', {str(PLOTTING)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "bad = [m for m in ('torch', 'sklearn', 'skorch', 'matplotlib.pyplot', 'sktfm')\n"
        "       if m in sys.modules]\n"
        "assert not bad, bad\n"
        "assert callable(module.plot_attention)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_sktfm_does_not_import_plotting():
    code = "import sys, sktfm; assert 'sktfm.plotting' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_without_matplotlib_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.delitem(sys.modules, "sktfm.plotting")
    with pytest.raises(ImportError, match=r"pip install sktfm\[plot\]"):
        importlib.import_module("sktfm.plotting")


# ---------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def translator():
    from sktfm.datasets import make_number_translation

    X, y = make_number_translation(40, random_state=0)
    model = sktfm.Seq2SeqTranslator(
        d_model=16,
        n_heads=2,
        n_encoder_layers=1,
        n_decoder_layers=1,
        dim_feedforward=32,
        max_epochs=2,
        device="cpu",
        random_state=0,
    )
    return model.fit(X, y), X, y


def test_translator_cross_attention_and_learning_curve(translator):
    model, X, y = translator
    (weights,) = model.attention_weights(X[:1], y[:1])
    source = model.source_tokenizer_.tokenizer_.encode(X[0]).tokens
    target = ["[BOS]"] + model.target_tokenizer_.tokenizer_.encode(y[0]).tokens
    assert weights.shape == (1, 2, len(target), len(source))

    ax = plot_attention(weights, x_labels=source, y_labels=target)
    np.testing.assert_allclose(ax.images[0].get_array(), weights[-1].mean(axis=0), rtol=1e-6)
    assert _tick_texts(ax.get_xticklabels()) == source
    assert _tick_texts(ax.get_yticklabels()) == target
    assert ax.get_title() == "layer 0, mean of 2 heads"
    with pytest.raises(ValueError, match="y_labels"):
        plot_attention(weights, x_labels=source, y_labels=target[1:])

    ax = plot_learning_curve(model)
    (line,) = ax.get_lines()  # 40 pairs leave no validation split: train_loss only
    assert line.get_label() == "train_loss"
    assert line.get_ydata().tolist() == [epoch["train_loss"] for epoch in model.history_]
    np.testing.assert_array_equal(line.get_xdata(), [1, 2])


def test_classifier_self_attention_on_text():
    from sktfm.datasets import make_topic_texts

    X, y = make_topic_texts(40, random_state=0)
    model = sktfm.TransformerClassifier(
        d_model=16,
        n_heads=2,
        n_layers=1,
        dim_feedforward=32,
        max_epochs=2,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    maps = model.attention_weights(X[:3])
    assert len(maps) == 3
    for text, weights in zip(X[:3], maps):
        tokens = ["[CLS]"] + model.tokenizer_.tokenizer_.encode(text).tokens
        assert weights.shape == (1, 2, len(tokens), len(tokens))
        assert weights.dtype == np.float32
        ax = plot_attention(weights, x_labels=tokens, y_labels=tokens, head=1)
        np.testing.assert_allclose(ax.images[0].get_array(), weights[0, 1])
        assert _tick_texts(ax.get_xticklabels()) == tokens
        assert _tick_texts(ax.get_yticklabels()) == tokens
        assert ax.get_title() == "layer 0, head 1"
        plt.close(ax.figure)
    ax = plot_attention(maps[0])  # mean over heads, positions numbered
    np.testing.assert_allclose(ax.images[0].get_array(), maps[0][0].mean(axis=0), rtol=1e-6)
