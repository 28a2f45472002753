"""Attention heat maps and learning curves, drawn with matplotlib.

This module needs the ``plot`` extra (``pip install sktfm[plot]``). It works
on plain arrays and history objects: it imports neither torch nor the
estimators (scikit-learn only to raise ``NotFittedError``), and ``import sktfm``
does not import it.
``matplotlib.pyplot`` is imported only when a function has to create a
figure, so the backend is whatever the caller chose.
"""

import numbers
from collections.abc import Mapping

import numpy as np

try:
    import matplotlib  # noqa: F401  (the package only; pyplot is imported on use)
except ImportError as exc:  # tested by hiding matplotlib from sys.modules
    raise ImportError(
        "sktfm.plotting needs matplotlib, which is not installed: pip install sktfm[plot]"
    ) from exc

__all__ = ["plot_attention", "plot_learning_curve"]


def _index(value, size, name, unit):
    """Check that ``value`` is an int indexing ``size`` items; return it as >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}.")
    value = int(value)
    if not -size <= value < size:
        raise ValueError(
            f"{name}={value} is out of range: the weights hold {size} {unit}"
            f"{'s' if size != 1 else ''} (valid: {-size} to {size - 1})."
        )
    return value % size


def _labels(labels, size, name, axis):
    if labels is None:
        return None
    if isinstance(labels, str):
        raise TypeError(f"{name} must be a sequence of tokens, not one string.")
    labels = [str(label) for label in labels]
    if len(labels) != size:
        raise ValueError(
            f"{name} has {len(labels)} labels but the attention map has {size} {axis} positions."
        )
    return labels


def _new_axes(figsize):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_attention(weights, *, x_labels=None, y_labels=None, layer=-1, head=None, ax=None):
    """Draw one sample's attention weights as a heat map.

    Parameters
    ----------
    weights : array-like of shape (n_layers, n_heads, T_query, T_key)
        The attention weights of one sample, as ``estimator.attention_weights(X)[i]``
        returns them. Row ``q`` of a map is how query position ``q`` spreads its
        attention over the key positions.
    x_labels : sequence of str of length T_key, default=None
        Tokens of the key positions (the source, for cross-attention), written
        under the columns. None numbers the positions.
    y_labels : sequence of str of length T_query, default=None
        Tokens of the query positions (the target, for cross-attention), written
        beside the rows. None numbers the positions.
    layer : int, default=-1
        Which layer to draw; negative values count from the last layer.
    head : int or None, default=None
        Which head to draw; None draws the mean over the heads.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure sized to the map.

    Returns
    -------
    ax : matplotlib Axes
        The axes holding the heat map (``ax.images[0]``); its colorbar sits in
        a new axes of the same figure. The title names the layer and the head
        ("layer 1, head 0") or the number of heads averaged ("layer 1, mean of
        4 heads").

    Raises
    ------
    ValueError
        If ``weights`` is not 4-D, is empty or holds non-finite values, if
        ``layer`` or ``head`` is out of range, or if a label list does not
        have one label per position.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sktfm.plotting import plot_attention
    >>> rng = np.random.default_rng(0)
    >>> weights = rng.dirichlet(np.ones(3), size=(2, 4, 3))  # 2 layers, 4 heads, 3x3
    >>> ax = plot_attention(weights, x_labels=["the", "red", "cat"],
    ...                     y_labels=["the", "red", "cat"])
    >>> ax.get_title()
    'layer 1, mean of 4 heads'
    >>> np.allclose(ax.images[0].get_array(), weights[-1].mean(axis=0))
    True
    >>> plot_attention(weights, layer=0, head=2).get_title()
    'layer 0, head 2'
    >>> plt.close("all")
    """
    expected = "weights must be a 4-D array of shape (n_layers, n_heads, T_query, T_key)"
    hint = " Pass one sample's array, e.g. attention_weights(X)[0], not the whole list."
    try:
        weights = np.asarray(weights)
    except ValueError as exc:  # a ragged list: several samples of different lengths
        raise ValueError(f"{expected}; got a ragged nest of sequences.{hint}") from exc
    if weights.dtype == object or weights.ndim != 4:
        raise ValueError(
            f"{expected}; got {weights.ndim} dimension(s) of shape {weights.shape}."
            f"{hint if weights.dtype == object or weights.ndim == 5 else ''}"
        )
    if not np.issubdtype(weights.dtype, np.number) or np.iscomplexobj(weights):
        raise ValueError(f"weights must be real numbers, got dtype {weights.dtype}.")
    if 0 in weights.shape:
        raise ValueError(f"weights is empty: shape {weights.shape}.")
    n_layers, n_heads, n_query, n_key = weights.shape
    layer = _index(layer, n_layers, "layer", "layer")
    if head is not None:
        head = _index(head, n_heads, "head", "head")
    x_labels = _labels(x_labels, n_key, "x_labels", "key (column)")
    y_labels = _labels(y_labels, n_query, "y_labels", "query (row)")

    maps = weights[layer].astype(np.float64)
    if not np.all(np.isfinite(maps)):
        raise ValueError(f"weights of layer {layer} hold NaN or infinite values.")
    if head is None:
        matrix = maps.mean(axis=0)
        title = f"layer {layer}, mean of {n_heads} head{'s' if n_heads != 1 else ''}"
    else:
        matrix = maps[head]
        title = f"layer {layer}, head {head}"

    if ax is None:
        width = min(max(4.0, 0.4 * n_key + 2.5), 16.0)
        height = min(max(3.5, 0.35 * n_query + 1.5), 14.0)
        ax = _new_axes((width, height))
    image = ax.imshow(
        matrix,
        cmap="viridis",
        aspect="auto",
        interpolation="nearest",
        vmin=min(0.0, float(matrix.min())),
    )
    ax.figure.colorbar(image, ax=ax, label="attention weight")
    ax.set_xticks(np.arange(n_key))
    ax.set_yticks(np.arange(n_query))
    if x_labels is not None:
        ax.set_xticklabels(x_labels, rotation=60, ha="right", rotation_mode="anchor")
    if y_labels is not None:
        ax.set_yticklabels(y_labels)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(title)
    return ax


def _history_of(estimator_or_history):
    """The list of per-epoch dicts behind an estimator, a History or a list."""
    obj = estimator_or_history
    if hasattr(obj, "history_"):
        obj = obj.history_
    elif hasattr(obj, "fit") and hasattr(obj, "get_params"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(obj).__name__} instance has no history_: fit it before "
            "plotting its learning curve."
        )
    if isinstance(obj, (str, bytes, Mapping)) or not hasattr(obj, "__iter__"):
        raise TypeError(
            "plot_learning_curve expects a fitted estimator (with history_), a "
            f"skorch History or a list of per-epoch dicts; got {type(obj).__name__}."
        )
    epochs = list(obj)
    if not all(isinstance(epoch, Mapping) for epoch in epochs):
        raise TypeError("Each entry of the history must be a dict of one epoch's values.")
    if not epochs:
        raise ValueError("The history is empty: no epoch to plot.")
    return epochs


def _is_number(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and not isinstance(value, np.bool_)
    )


def _numeric_keys(epochs):
    """Keys with a number in at least one epoch, in order of first appearance."""
    keys = {}
    for epoch in epochs:
        for key, value in epoch.items():
            if key != "epoch" and _is_number(value):
                keys.setdefault(key, None)
    return list(keys)


def plot_learning_curve(estimator_or_history, *, metrics=None, ax=None):
    """Draw per-epoch training curves: losses, and validation scores if any.

    Parameters
    ----------
    estimator_or_history : estimator, skorch History or list of dict
        A fitted estimator (any object with a ``history_`` attribute), or its
        history itself: one dict per epoch, such as
        ``{"epoch": 1, "train_loss": 2.3, "valid_loss": 2.1, "valid_bleu": 4.0}``.
    metrics : str or list of str, default=None
        The per-epoch keys to draw. None draws every numeric key ending in
        ``_loss`` (``train_loss``, ``valid_loss``, ...) and ``valid_bleu`` when
        the history has it. Keys ending in ``_loss`` share the left y axis;
        the others (scores such as ``valid_bleu``) go on a twin right axis,
        unless no loss is drawn, in which case they use the left one.
        An epoch without a value for a key is left out of that key's line.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes with the loss curves; x is the epoch (the history's
        ``epoch`` values, else 1, 2, ...). A twin axis for scores, when
        drawn, is another axes of ``ax.figure`` sharing this x axis.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If given an estimator that has not been fitted (no ``history_``).
    ValueError
        If the history is empty, a requested key is never a number in it, or
        there is nothing to draw by default.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sktfm.plotting import plot_learning_curve
    >>> history = [
    ...     {"epoch": 1, "train_loss": 2.0, "valid_loss": 1.8},
    ...     {"epoch": 2, "train_loss": 1.2, "valid_loss": 1.3},
    ...     {"epoch": 3, "train_loss": 0.9, "valid_loss": 1.1},
    ... ]
    >>> ax = plot_learning_curve(history)
    >>> [line.get_label() for line in ax.get_lines()]
    ['train_loss', 'valid_loss']
    >>> ax.get_lines()[1].get_ydata().tolist()
    [1.8, 1.3, 1.1]
    >>> plt.close("all")
    """
    epochs = _history_of(estimator_or_history)
    available = _numeric_keys(epochs)
    if metrics is None:
        metrics = [key for key in available if key.endswith("_loss")]
        if "valid_bleu" in available:
            metrics.append("valid_bleu")
        if not metrics:
            raise ValueError(
                "The history has no numeric key ending in '_loss' (nor valid_bleu) "
                f"to plot by default; pass metrics=[...] from {available}."
            )
    else:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if not metrics:
            raise ValueError("metrics is empty: name at least one per-epoch key.")
        missing = [key for key in metrics if key not in available]
        if missing:
            raise ValueError(
                f"No numeric per-epoch value for {missing} in the history; "
                f"available keys: {available}."
            )

    numbered = [epoch.get("epoch", i + 1) for i, epoch in enumerate(epochs)]
    x = np.asarray(
        numbered if all(_is_number(n) for n in numbered) else np.arange(1, len(epochs) + 1)
    )
    losses = [key for key in metrics if key.endswith("_loss")]
    scores = [key for key in metrics if not key.endswith("_loss")]
    if not losses:
        losses, scores = scores, []

    if ax is None:
        ax = _new_axes((6.4, 4.2))
    marker = "o" if len(epochs) <= 30 else None
    lines = []

    def draw(target, keys, first_color, linestyle):
        for i, key in enumerate(keys):
            present = [j for j, epoch in enumerate(epochs) if _is_number(epoch.get(key))]
            values = np.array([epochs[j][key] for j in present], dtype=np.float64)
            lines.extend(
                target.plot(
                    x[present],
                    values,
                    color=f"C{first_color + i}",
                    linestyle=linestyle,
                    marker=marker,
                    markersize=3,
                    label=key,
                )
            )

    draw(ax, losses, 0, "-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" if all(k.endswith("_loss") for k in losses) else ", ".join(losses))
    if scores:  # a twin right axis; dashed lines in the colours after the losses'
        twin = ax.twinx()
        draw(twin, scores, len(losses), "--")
        twin.set_ylabel(", ".join(scores))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(lines, [line.get_label() for line in lines], loc="best")
    ax.set_title("learning curve")
    return ax
