"""Pure-PyTorch Transformer core of sktfm (imports torch only).

Building blocks after Vaswani et al. (2017), "Attention Is All You Need":
multi-head attention with padding and causal masks and a KV cache,
feed-forward, encoder and decoder layers (pre- or post-norm), token and
positional embeddings, a feature tokenizer for tabular rows (FT-Transformer),
pooling, the :class:`TransformerBackbone` shared by all estimators, the
trainable models (:class:`TaskModel`, :class:`MaskedTokenModel`,
:class:`MaskedFeatureModel`) and the encoder-decoder :class:`Seq2Seq` with
greedy and beam-search ``generate``; :class:`DeepEnsemble` averages
independently initialised task models.

Shape vocabulary for comments (see :mod:`sktfm.nn.attention`): ``B`` batch,
``T`` sequence length, ``H`` heads, ``D`` head dim, ``C`` = ``d_model``,
``F`` features.

Examples
--------
>>> import torch
>>> from sktfm.nn import Encoder
>>> Encoder(n_layers=2, d_model=16, n_heads=4, dim_feedforward=32)(torch.randn(2, 7, 16)).shape
torch.Size([2, 7, 16])
"""

from .attention import KVCache, MultiHeadAttention, attention_mask
from .backbone import POSITIONALS, TransformerBackbone
from .bert import BertBackbone, BertEmbedding
from .decoder import Decoder, DecoderLayer
from .dropout import Dropout, dropout
from .embedding import (
    LearnedPositionalEncoding,
    SequenceEmbedding,
    SinusoidalPositionalEncoding,
    TokenEmbedding,
)
from .encoder import Encoder, EncoderLayer, Packing
from .ensemble import DeepEnsemble
from .feedforward import ACTIVATIONS, FeedForward
from .heads import MaskedFeatureModel, MaskedTokenModel, TaskModel
from .linear import Linear
from .pooling import POOLINGS, Pooling
from .seq2seq import Seq2Seq
from .table_embedding import FeatureTokenizer

__all__ = [
    "ACTIVATIONS",
    "POOLINGS",
    "POSITIONALS",
    "BertBackbone",
    "BertEmbedding",
    "MultiHeadAttention",
    "KVCache",
    "attention_mask",
    "DeepEnsemble",
    "Dropout",
    "dropout",
    "FeedForward",
    "Linear",
    "EncoderLayer",
    "Encoder",
    "Packing",
    "DecoderLayer",
    "Decoder",
    "TokenEmbedding",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEncoding",
    "FeatureTokenizer",
    "SequenceEmbedding",
    "Pooling",
    "TransformerBackbone",
    "TaskModel",
    "MaskedTokenModel",
    "MaskedFeatureModel",
    "Seq2Seq",
]
