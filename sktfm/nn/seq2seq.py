"""The encoder-decoder Transformer for translation (Vaswani et al., 2017, section 3)."""

from typing import Optional, Union

import torch
from torch import Tensor, nn

from ._checks import check_positive
from .backbone import _POSITIONAL_CLASSES, POSITIONALS
from .decoder import Decoder, LayerCache
from .dropout import Dropout
from .embedding import TokenEmbedding
from .encoder import Encoder
from .generation import CountConstraint, beam_search, greedy_search
from .linear import Linear
from .pooling import Pooling

__all__ = ["Seq2Seq"]


class Seq2Seq(nn.Module):
    """Encoder-decoder Transformer: source ids in, target log-probabilities out.

    ``encode``: :class:`TokenEmbedding` (scaled by ``sqrt(d_model)``) +
    positional encoding + dropout -> :class:`Encoder`. ``decode``: the same
    embedding stack for the target -> :class:`Decoder` (causal self-attention,
    cross-attention to the memory) -> ``Linear(C, V)`` -> log-softmax. ``forward``
    is teacher forcing; :meth:`generate` decodes greedily or with beam search.

    Token conventions: sequences are right-padded with ``padding_idx``; the
    decoder input starts with ``bos_id``; a generated sentence ends at
    ``eos_id``.

    Parameters
    ----------
    src_vocab_size, tgt_vocab_size : int
        Number of source and target token ids.
    d_model, n_heads, dim_feedforward, dropout, activation, norm_first
        Layer hyperparameters (see :class:`EncoderLayer`, :class:`DecoderLayer`);
        ``dropout`` also applies to the embedding sums (paper, section 5.4).
    n_encoder_layers, n_decoder_layers : int, default=2
        Depth of the encoder and the decoder.
    positional : {"sinusoidal", "learned"}, default="sinusoidal"
        Positional encoding; source and target each get their own.
    max_len : int, default=256
        Longest sequence; the positional tables have ``max_len + 2`` rows (room
        for BOS and EOS), and :meth:`generate` never emits more than ``max_len``
        tokens.
    share_embeddings : bool, default=False
        One embedding table for source and target (needs equal vocab sizes;
        paper, section 3.4, with a shared BPE vocabulary).
    tie_embeddings : bool, default=True
        The output projection reuses the target embedding weight (paper, section
        3.4; Press & Wolf, 2017). The raw table is tied: the ``sqrt(d_model)``
        scale applies to the embedding lookup only.
    pooling : {"mean", "cls", "max"}, default="mean"
        How :meth:`embed` reduces the encoder states to one vector.
    padding_idx, bos_id, eos_id : int, default=0, 5, 6
        Padding, begin- and end-of-sentence ids (distinct, valid target ids).

    Notes
    -----
    NOTE[DIFF]: the paper shares one matrix between both embeddings and the
    output projection (section 3.4), through a joint BPE vocabulary. Here the
    output tie is the default and the source/target share is opt-in
    (``share_embeddings``), since the two vocabularies may differ. The output
    projection keeps its own bias.

    NOTE[DIFF]: :meth:`embed` (the memory averaged over non-padding positions)
    is an addition, so that a trained translator can also serve sentence
    embeddings.

    Examples
    --------
    >>> model = Seq2Seq(src_vocab_size=30, tgt_vocab_size=20, d_model=16, n_heads=2,
    ...                 dim_feedforward=32)
    >>> src = torch.tensor([[9, 8, 7, 0], [12, 0, 0, 0]])  # (B, S), 0 = padding
    >>> tgt_in = torch.tensor([[5, 11, 12], [5, 13, 0]])  # (B, T), BOS = 5
    >>> model(src, tgt_in).shape  # (B, T, V) log-probabilities
    torch.Size([2, 3, 20])
    >>> model.embed(src).shape  # (B, C)
    torch.Size([2, 16])
    >>> hyps = model.generate(src, beam_size=2, max_output_len=4)
    >>> len(hyps), all(len(h) <= 4 for h in hyps)  # ids without BOS, EOS or padding
    (2, True)
    """

    def __init__(
        self,
        *,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_encoder_layers: int = 2,
        n_decoder_layers: int = 2,
        dim_feedforward: int = 512,
        dropout: float = 0.1,
        activation: str = "gelu",
        norm_first: bool = True,
        positional: str = "sinusoidal",
        max_len: int = 256,
        share_embeddings: bool = False,
        tie_embeddings: bool = True,
        pooling: str = "mean",
        padding_idx: int = 0,
        bos_id: int = 5,
        eos_id: int = 6,
    ):
        super().__init__()
        _validate_vocab(src_vocab_size, tgt_vocab_size, share_embeddings)
        _validate_ids(src_vocab_size, tgt_vocab_size, padding_idx, bos_id, eos_id)
        if positional not in POSITIONALS:
            raise ValueError(f"{positional=} is not supported; use one of {POSITIONALS}.")
        check_positive(max_len=max_len)
        self.src_vocab_size = src_vocab_size
        self.tgt_vocab_size = tgt_vocab_size
        self.d_model = d_model
        self.max_len = max_len
        self.share_embeddings = share_embeddings
        self.tie_embeddings = tie_embeddings
        self.padding_idx = padding_idx
        self.bos_id = bos_id
        self.eos_id = eos_id

        layer_kw = dict(dropout=dropout, activation=activation, norm_first=norm_first)
        self.src_embedding = TokenEmbedding(src_vocab_size, d_model, padding_idx=padding_idx)
        self.tgt_embedding = (
            self.src_embedding
            if share_embeddings
            else TokenEmbedding(tgt_vocab_size, d_model, padding_idx=padding_idx)
        )
        self.src_positional = _POSITIONAL_CLASSES[positional](d_model, max_len + 2)
        self.tgt_positional = _POSITIONAL_CLASSES[positional](d_model, max_len + 2)
        self.dropout = Dropout(dropout)
        self.encoder = Encoder(n_encoder_layers, d_model, n_heads, dim_feedforward, **layer_kw)
        self.decoder = Decoder(n_decoder_layers, d_model, n_heads, dim_feedforward, **layer_kw)
        self.output = Linear(d_model, tgt_vocab_size)  # few-row fast path: see Linear
        if tie_embeddings:
            self.output.weight = self.tgt_embedding.embedding.weight  # (V, C), one Parameter
        self.pooling = Pooling(pooling)

    def _check_ids(self, ids: Tensor, name: str, offset: int = 0) -> None:
        if ids.ndim != 2 or ids.is_floating_point() or ids.is_complex():
            raise TypeError(
                f"{name} must be an integer tensor (B, T) of token ids, got "
                f"{ids.dtype=} of shape {tuple(ids.shape)}."
            )
        if offset + ids.shape[1] > self.max_len + 2:
            raise ValueError(
                f"{name} reaches position {offset + ids.shape[1]}, more than "
                f"max_len + 2 = {self.max_len + 2}; truncate it or raise max_len."
            )

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """Encode ``src`` (B, S) into ``(memory (B, S, C), src_padding_mask (B, S))``.

        ``src_padding_mask`` is bool, True = padding. A row of padding only (an
        empty sentence) gives a finite, uninformative memory.
        """
        self._check_ids(src, "src")
        if src.shape[1] == 0:  # no source tokens at all: one padding slot keeps shapes valid
            src = src.new_full((src.shape[0], 1), self.padding_idx)
        padding = src == self.padding_idx  # (B, S)
        x = self.dropout(self.src_positional(self.src_embedding(src)))  # (B, S, C)
        return self.encoder(x, key_padding_mask=padding), padding

    def decode(
        self,
        tgt_in: Tensor,
        memory: Tensor,
        memory_padding_mask: Optional[Tensor],
        *,
        need_weights: bool = False,
        cache: Optional[list[LayerCache]] = None,
    ) -> Union[Tensor, tuple[Tensor, list[Tensor]]]:
        """Target log-probabilities (B, T, V) of the next token at each position of ``tgt_in``.

        ``tgt_in`` (B, T) starts with ``bos_id`` and is right-padded;
        ``memory`` and ``memory_padding_mask`` come from :meth:`encode`. With
        ``need_weights``, also returns one cross-attention (B, H, T, S) per layer.

        With a ``cache`` from ``self.decoder.new_cache()``, ``tgt_in`` holds only
        the positions after the cached prefix (one per step in generation) and
        gets positions offset by the cached length; target padding is then not
        masked (incremental decoding feeds none that matters).
        """
        x, weights = self._decoder_states(tgt_in, memory, memory_padding_mask, cache, need_weights)
        log_probs = self.output(x).log_softmax(dim=-1)  # (B, T, V)
        return (log_probs, weights) if need_weights else log_probs

    def next_token_logits(
        self,
        tgt_in: Tensor,
        memory: Tensor,
        memory_padding_mask: Optional[Tensor],
        *,
        cache: Optional[list[LayerCache]] = None,
    ) -> Tensor:
        """Unnormalised scores (B, V) of the token after the last position of ``tgt_in``.

        What generation needs from :meth:`decode`, at less cost: only the last
        position goes through the vocabulary projection, and no softmax (greedy
        search takes the argmax of the logits). Arguments as in :meth:`decode`.
        """
        x, _ = self._decoder_states(tgt_in, memory, memory_padding_mask, cache, False)
        return self.output(x[:, -1])  # (B, V)

    def _decoder_states(self, tgt_in, memory, memory_padding_mask, cache, need_weights):
        """Decoder output (B, T, C) and cross-attention weights (or None)."""
        offset = 0 if cache is None else Decoder.cache_length(cache)
        self._check_ids(tgt_in, "tgt_in", offset)
        padding = None if cache is not None else tgt_in == self.padding_idx  # (B, T)
        x = self.tgt_embedding(tgt_in)  # (B, T, C)
        x = self.dropout(self.tgt_positional(x, offset=offset))
        out = self.decoder(
            x,
            memory,
            tgt_padding_mask=padding,
            memory_padding_mask=memory_padding_mask,
            cache=cache,
            need_weights=need_weights,
        )
        return out if need_weights else (out, None)

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher forcing: log-probs (B, T, V) for ``tgt_in`` (B, T) given ``src`` (B, S)."""
        memory, padding = self.encode(src)
        return self.decode(tgt_in, memory, padding)

    def embed(self, src: Tensor) -> Tensor:
        """Sentence embedding (B, C): the memory pooled over non-padding positions.

        ``pooling`` picks the mean, the maximum or (``"cls"``) the state of the
        first source position; an empty source (padding only) embeds to zeros.
        """
        memory, padding = self.encode(src)
        return self.pooling(memory, padding)  # (B, C)

    def generate(
        self,
        src: Tensor,
        *,
        beam_size: int = 1,
        max_output_len: Optional[int] = None,
        length_penalty: float = 0.6,
        use_cache: bool = True,
        constraint: Optional[CountConstraint] = None,
    ) -> list[list[int]]:
        """Translate ``src`` (B, S): one list of target ids per sentence.

        The ids exclude BOS, EOS and padding; BOS and padding are never
        generated. Runs in eval mode under :func:`torch.inference_mode` and
        restores the previous mode afterwards.

        Parameters
        ----------
        src : LongTensor (B, S)
            Source ids, right-padded with ``padding_idx``.
        beam_size : int, default=1
            1 decodes greedily; more runs beam search (see
            :func:`sktfm.nn.generation.beam_search` for the stopping rule).
        max_output_len : int, optional
            Most tokens per sentence (EOS not counted). None means each
            sentence's source length + 50 (paper, section 6.1). Capped at
            ``max_len`` either way.
        length_penalty : float, default=0.6
            GNMT exponent ``alpha`` of ``((5 + len) / 6) ** alpha`` dividing the
            finished hypotheses' scores (Wu et al., 2016); 0 disables. Beam
            search only.
        use_cache : bool, default=True
            Keep keys/values between steps (one new position per step). False
            re-runs the decoder over the whole prefix: the slow reference path,
            same tokens.
        constraint : CountConstraint, optional
            Slot tokens (protected-span sentinels) each output must carry
            exactly as often as its row of ``constraint.required`` says.
        """
        if isinstance(beam_size, bool) or int(beam_size) != beam_size or beam_size < 1:
            raise ValueError(f"{beam_size=} must be a positive integer (1 = greedy).")
        if max_output_len is not None and (
            int(max_output_len) != max_output_len or max_output_len < 1
        ):
            raise ValueError(f"{max_output_len=} must be a positive integer or None.")
        beam_size = int(beam_size)
        max_output_len = None if max_output_len is None else int(max_output_len)
        self._check_ids(src, "src")
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                if beam_size == 1:
                    return greedy_search(
                        self,
                        src,
                        max_output_len=max_output_len,
                        use_cache=use_cache,
                        constraint=constraint,
                    )
                return beam_search(
                    self,
                    src,
                    beam_size=beam_size,
                    max_output_len=max_output_len,
                    length_penalty=length_penalty,
                    use_cache=use_cache,
                    constraint=constraint,
                )
        finally:
            self.train(was_training)


def _validate_vocab(src_vocab_size: int, tgt_vocab_size: int, share_embeddings: bool) -> None:
    if src_vocab_size < 1 or tgt_vocab_size < 1:
        raise ValueError(f"{src_vocab_size=} and {tgt_vocab_size=} must be positive integers.")
    if share_embeddings and src_vocab_size != tgt_vocab_size:
        raise ValueError(
            f"share_embeddings=True needs one vocabulary, got {src_vocab_size=} != "
            f"{tgt_vocab_size=}; build a shared vocabulary or set share_embeddings=False."
        )


def _validate_ids(
    src_vocab_size: int, tgt_vocab_size: int, padding_idx: int, bos_id: int, eos_id: int
) -> None:
    if len({padding_idx, bos_id, eos_id}) != 3:
        raise ValueError(f"{padding_idx=}, {bos_id=} and {eos_id=} must be three distinct ids.")
    for name, value in (("padding_idx", padding_idx), ("bos_id", bos_id), ("eos_id", eos_id)):
        if not 0 <= value < tgt_vocab_size:
            raise ValueError(f"{name}={value} must be a target id in [0, {tgt_vocab_size=}).")
    if not 0 <= padding_idx < src_vocab_size:
        raise ValueError(f"{padding_idx=} must be a source id in [0, {src_vocab_size=}).")
