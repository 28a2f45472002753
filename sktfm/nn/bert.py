"""BERT-family encoders (Devlin et al., 2019) on the sktfm core, and their weights.

:class:`BertBackbone` is the architecture of Hugging Face's ``BertModel``
rebuilt from sktfm's own layers: word + learned position + token-type
embeddings with a LayerNorm, post-norm :class:`EncoderLayer` blocks with exact
GELU, and :class:`Pooling`. :func:`bert_kwargs` reads a Hugging Face
``config.json`` dict; :func:`load_bert_state` maps a checkpoint's tensors onto
the module by name and lists whatever does not fit.
"""

import re
from collections.abc import Mapping
from typing import Optional

import torch
from torch import Tensor, nn

from .dropout import Dropout
from .encoder import Encoder, encode_tokens
from .pooling import Pooling

__all__ = ["BertEmbedding", "BertBackbone", "bert_kwargs", "load_bert_state"]


class BertEmbedding(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout (BERT's input).

    Every token has token type 0 (single sentences); the type table is kept so
    that checkpoints load whole.

    Parameters
    ----------
    vocab_size, d_model, max_positions, type_vocab_size : int
        Table sizes.
    layer_norm_eps : float
        LayerNorm epsilon.
    dropout : float
        Dropout after the LayerNorm.
    padding_idx : int
        Padding id.

    Examples
    --------
    >>> emb = BertEmbedding(100, 8, max_positions=16, type_vocab_size=2,
    ...                     layer_norm_eps=1e-12, dropout=0.0, padding_idx=0)
    >>> emb(torch.tensor([[2, 7, 3, 0]])).shape  # (B, T) -> (B, T, C)
    torch.Size([1, 4, 8])
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        *,
        max_positions: int,
        type_vocab_size: int,
        layer_norm_eps: float,
        dropout: float,
        padding_idx: int,
    ):
        super().__init__()
        self.word = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.position = nn.Embedding(max_positions, d_model)
        self.token_type = nn.Embedding(type_vocab_size, d_model)
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = Dropout(dropout)
        for table in (self.word, self.position, self.token_type):
            nn.init.normal_(table.weight, std=0.02)  # BERT's initializer_range

    def forward(self, ids: Tensor) -> Tensor:
        T = ids.shape[1]
        x = self.word(ids) + self.position.weight[:T] + self.token_type.weight[0]  # (B, T, C)
        return self.dropout(self.norm(x))


class BertBackbone(nn.Module):
    """A BERT-family encoder with pooling, interchangeable with ``TransformerBackbone``.

    Takes token ids that already hold the tokenizer's ``[CLS] ... [SEP]``
    (it prepends nothing), so states line up with the ids.

    Parameters
    ----------
    vocab_size : int
        Token ids.
    d_model, n_heads, n_layers, dim_feedforward : int
        ``hidden_size``, ``num_attention_heads``, ``num_hidden_layers``,
        ``intermediate_size`` in a Hugging Face config.
    max_positions : int, default=512
        Rows of the position table; also the longest input.
    type_vocab_size : int, default=2
        Rows of the token-type table.
    layer_norm_eps : float, default=1e-12
    dropout : float, default=0.1
        Dropout on embeddings, attention weights and residual branches.
    activation : {"gelu", "relu"}, default="gelu"
    pooling : {"mean", "cls", "max"}, default="mean"
    padding_idx : int, default=0
    attention_dropout : float or None, default=None
        Dropout on the attention weights; None uses ``dropout``.

    Examples
    --------
    >>> bb = BertBackbone(vocab_size=50, d_model=16, n_heads=2, n_layers=1,
    ...                   dim_feedforward=32, max_positions=8)
    >>> ids = torch.tensor([[2, 9, 3], [2, 3, 0]])  # [CLS] ... [SEP], 0 = padding
    >>> bb(ids).shape, bb.encode(ids)[0].shape
    (torch.Size([2, 16]), torch.Size([2, 3, 16]))
    """

    input_kind = "tokens"
    prepends_cls = False

    def __init__(
        self,
        *,
        vocab_size: int,
        d_model: int,
        n_heads: int,
        n_layers: int,
        dim_feedforward: int,
        max_positions: int = 512,
        type_vocab_size: int = 2,
        layer_norm_eps: float = 1e-12,
        dropout: float = 0.1,
        activation: str = "gelu",
        pooling: str = "mean",
        padding_idx: int = 0,
        attention_dropout: Optional[float] = None,
    ):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"{n_heads=} must divide {d_model=}.")
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.max_len = max_positions
        self.padding_idx = padding_idx
        self.embedding = BertEmbedding(
            vocab_size,
            d_model,
            max_positions=max_positions,
            type_vocab_size=type_vocab_size,
            layer_norm_eps=layer_norm_eps,
            dropout=dropout,
            padding_idx=padding_idx,
        )
        self.encoder = Encoder(
            n_layers,
            d_model,
            n_heads,
            dim_feedforward,
            dropout=dropout,
            activation=activation,
            norm_first=False,
            layer_norm_eps=layer_norm_eps,
            attention_dropout=attention_dropout,
        )
        self.pooling = Pooling(pooling)

    def encode(self, x: Tensor, *, mask: Optional[Tensor] = None, need_weights: bool = False):
        """States (B, T, C) and padding mask (B, T), True = padding; see TransformerBackbone."""
        if mask is not None:
            raise ValueError("mask is not used for token input; replace ids by the mask id.")
        if x.ndim != 2 or x.is_floating_point():
            raise ValueError(f"BertBackbone expects (B, T) integer ids, got {tuple(x.shape)}.")
        if x.shape[1] > self.max_len:
            raise ValueError(
                f"sequence length T={x.shape[1]} exceeds the {self.max_len} positions "
                "of the checkpoint; truncate the input."
            )
        padding = x == self.padding_idx
        tokens = self.embedding(x)
        return encode_tokens(self.encoder, tokens, padding, need_weights)

    def forward(self, x: Tensor) -> Tensor:
        """Pooled embedding (B, C) of ids ``x`` (B, T)."""
        states, padding = self.encode(x)
        return self.pooling(states, padding)


def bert_kwargs(config: Mapping) -> dict:
    """:class:`BertBackbone` arguments from a Hugging Face BERT ``config.json`` dict."""
    model_type = config.get("model_type", "bert")
    if model_type not in ("bert", "roberta", "xlm-roberta", "camembert"):
        raise ValueError(f"config.json describes a {model_type!r} model, not a BERT-family one.")
    activation = config.get("hidden_act", "gelu")
    if activation not in ("gelu", "relu"):
        raise ValueError(f"hidden_act={activation!r} is not supported; use gelu or relu.")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("Only absolute position embeddings are supported.")
    if model_type != "bert":
        # RoBERTa offsets positions by padding_idx + 1; not mapped here.
        raise ValueError(f"{model_type!r} checkpoints are not supported yet; use a BERT one.")
    return dict(
        vocab_size=int(config["vocab_size"]),
        d_model=int(config["hidden_size"]),
        n_heads=int(config["num_attention_heads"]),
        n_layers=int(config["num_hidden_layers"]),
        dim_feedforward=int(config["intermediate_size"]),
        max_positions=int(config.get("max_position_embeddings", 512)),
        type_vocab_size=int(config.get("type_vocab_size", 2)),
        layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
        dropout=float(config.get("hidden_dropout_prob", 0.1)),
        activation=activation,
        padding_idx=int(config.get("pad_token_id", 0)),
    )


# Hugging Face BertModel name (after any "bert." prefix) -> BertBackbone name.
_RENAMES = [
    (r"embeddings\.word_embeddings\.", "embedding.word."),
    (r"embeddings\.position_embeddings\.", "embedding.position."),
    (r"embeddings\.token_type_embeddings\.", "embedding.token_type."),
    (r"embeddings\.LayerNorm\.", "embedding.norm."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.query\.", r"encoder.layers.\1.self_attn.q_proj."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.key\.", r"encoder.layers.\1.self_attn.k_proj."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.value\.", r"encoder.layers.\1.self_attn.v_proj."),
    (
        r"encoder\.layer\.(\d+)\.attention\.output\.dense\.",
        r"encoder.layers.\1.self_attn.out_proj.",
    ),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", r"encoder.layers.\1.norm1."),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.", r"encoder.layers.\1.feedforward.linear1."),
    (r"encoder\.layer\.(\d+)\.output\.dense\.", r"encoder.layers.\1.feedforward.linear2."),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.", r"encoder.layers.\1.norm2."),
]
# In BertModel checkpoints but not part of an encoder: the NSP pooler, MLM
# heads and the position-id buffer.
_UNUSED = re.compile(r"^(pooler\.|cls\.|embeddings\.position_ids$)")


def _rename(name: str) -> Optional[str]:
    name = re.sub(r"^bert\.", "", name)
    name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
        "LayerNorm.beta", "LayerNorm.bias"
    )
    for pattern, replacement in _RENAMES:
        renamed, n = re.subn("^" + pattern, replacement, name)
        if n:
            return renamed
    return None


def load_bert_state(backbone: BertBackbone, tensors: Mapping[str, Tensor]) -> list[str]:
    """Copy a BERT checkpoint's ``tensors`` into ``backbone``; return the unused names.

    Raises a ValueError listing every parameter the checkpoint lacks, every
    tensor whose shape differs, and every tensor it cannot place.
    """
    own = backbone.state_dict()
    mapped, unplaced, unused = {}, [], []
    for name, tensor in tensors.items():
        target = _rename(name)
        if target is None:
            (unused if _UNUSED.match(re.sub(r"^bert\.", "", name)) else unplaced).append(name)
        else:
            mapped[target] = (name, tensor)
    missing = sorted(set(own) - set(mapped))
    mismatched = [
        f"{source} {tuple(tensor.shape)} -> {target} {tuple(own[target].shape)}"
        for target, (source, tensor) in mapped.items()
        if target in own and tuple(tensor.shape) != tuple(own[target].shape)
    ]
    unplaced += [source for target, (source, _) in mapped.items() if target not in own]
    problems = [
        (f"missing from the checkpoint: {missing}" if missing else ""),
        (f"shapes that differ from config.json: {mismatched}" if mismatched else ""),
        (f"checkpoint tensors with no place in the model: {sorted(unplaced)}" if unplaced else ""),
    ]
    problems = [p for p in problems if p]
    if problems:
        raise ValueError("The checkpoint does not fit the model; " + "; ".join(problems) + ".")
    with torch.no_grad():
        for target, (_, tensor) in mapped.items():
            own[target].copy_(tensor)
    return unused
