"""Autoregressive decoding for :class:`Seq2Seq`: greedy search and beam search.

Both functions run one decoder step per generated token. With ``use_cache=True``
each step feeds only the newest token and the decoder's :class:`KVCache` holds
the rest, so a step costs one decoder position; with ``use_cache=False`` every
step re-runs the decoder over the whole prefix (the reference path, same
tokens). Call them through :meth:`Seq2Seq.generate`, which sets eval mode and
``torch.inference_mode``.

Lengths: a sentence gets at most ``max_output_len`` tokens (EOS not counted);
``None`` means its source length + 50 (Vaswani et al., 2017, section 6.1). The
limit is capped at the model's ``max_len`` either way.
"""

import math
from typing import Optional

import torch
from torch import Tensor

from .decoder import Decoder

__all__ = ["CountConstraint", "greedy_search", "beam_search"]


class CountConstraint:
    """Make each output carry given "slot" tokens exactly as often as required.

    Used to copy protected spans (placeholders) through translation: slot
    ``k`` is the sentinel of the source's ``k``-th span, and the output must
    hold it exactly as often as the source does. A token may carry several
    slots (a subword such as ``"\u2581\ue000"``). At every step, tokens that would
    take a slot past its required count are banned, EOS is banned until every
    slot is complete, and when the steps left are no more than the slots
    missing only slot tokens may follow; so every output has each slot exactly
    as often as required (given a length limit at least the total required).

    Parameters
    ----------
    required : LongTensor (B, n_slots)
        Required count of each slot, per sentence.
    token_slots : LongTensor (V, n_slots)
        How many of each slot every token of the target vocabulary carries.
    eos_id : int
        The end-of-sequence id.

    Examples
    --------
    >>> token_slots = torch.zeros(6, 2, dtype=torch.long)
    >>> token_slots[4, 0] = token_slots[5, 1] = 1  # ids 4 and 5 are the two slots
    >>> c = CountConstraint(torch.tensor([[1, 0]]), token_slots, eos_id=2)
    >>> counts = c.start(rows_per_sentence=1)
    >>> c.apply(torch.zeros(1, 6), counts)  # slot 1 banned (not required), EOS too
    tensor([[0., 0., -inf, 0., 0., -inf]])
    """

    def __init__(self, required: Tensor, token_slots: Tensor, eos_id: int):
        if required.ndim != 2 or token_slots.ndim != 2 or required.shape[1] != token_slots.shape[1]:
            raise ValueError(
                f"required (B, n_slots) and token_slots (V, n_slots) must share n_slots; got "
                f"{tuple(required.shape)} and {tuple(token_slots.shape)}."
            )
        self.required = required.long()
        self.token_slots = token_slots.long()  # (V, n_slots)
        self.slot_ids = token_slots.any(dim=1).nonzero().flatten()  # (n,): ids with slots
        self.slot_counts = token_slots[self.slot_ids].long()  # (n, n_slots)
        self.eos_id = eos_id
        self._required_rows = self.required

    def start(self, rows_per_sentence: int) -> Tensor:
        """Zero counts (B * rows_per_sentence, n_slots); rows of sentence b are consecutive."""
        self._required_rows = self.required.repeat_interleave(rows_per_sentence, dim=0)
        return torch.zeros_like(self._required_rows)

    def apply(self, scores: Tensor, counts: Tensor, steps_left: Optional[Tensor] = None) -> Tensor:
        """``scores`` (N, V) with the tokens the counts (N, n_slots) forbid set to -inf.

        ``steps_left`` (N,): tokens each row may still emit, this one included.
        """
        required = self._required_rows.to(scores.device)
        counts = counts.to(scores.device)
        if steps_left is not None and len(self.slot_ids):
            missing = (required - counts).clamp(min=0).sum(dim=1)  # (N,)
            hurry = (missing > 0) & (missing >= steps_left.to(scores.device))  # (N,)
            if hurry.any():  # only slot tokens may follow
                other = torch.ones(scores.shape[1], dtype=torch.bool, device=scores.device)
                other[self.slot_ids.to(scores.device)] = False
                scores = scores.masked_fill(hurry[:, None] & other, float("-inf"))
        if len(self.slot_ids):
            slot_ids = self.slot_ids.to(scores.device)
            after = counts[:, None, :] + self.slot_counts.to(scores.device)  # (N, n, n_slots)
            over = (after > required[:, None, :]).any(dim=-1)  # (N, n)
            scores = scores.clone()
            scores[:, slot_ids] = scores[:, slot_ids].masked_fill(over, float("-inf"))
        incomplete = (counts < required).any(dim=1)  # (N,)
        scores[:, self.eos_id] = scores[:, self.eos_id].masked_fill(incomplete, float("-inf"))
        return scores

    def advance(self, counts: Tensor, rows: Tensor, next_ids: Tensor) -> Tensor:
        """Counts after the rows ``rows`` (N,) of ``counts`` took ``next_ids`` (N,)."""
        return counts[rows] + self.token_slots.to(counts.device)[next_ids]


def _output_limits(model, src: Tensor, max_output_len: Optional[int]) -> Tensor:
    """Most tokens per sentence (B,), long."""
    if max_output_len is None:
        limits = (src != model.padding_idx).sum(dim=1) + 50  # (B,)
    else:
        limits = torch.full((src.shape[0],), max_output_len, device=src.device)
    return limits.clamp(min=1, max=model.max_len)


def _next_logits(model, tokens: Tensor, memory: Tensor, memory_padding_mask, cache) -> Tensor:
    """Unnormalised scores (N, V) of the token after ``tokens`` (N, t)."""
    new = tokens if cache is None else tokens[:, -1:]  # with a cache: the newest token only
    return model.next_token_logits(new, memory, memory_padding_mask, cache=cache)  # (N, V)


def _ban_unwritable(model, scores: Tensor) -> Tensor:
    """``scores`` (N, V) with BOS and padding at -inf: they are never generated."""
    banned = torch.tensor([model.bos_id, model.padding_idx], device=scores.device)
    return scores.index_fill(1, banned, float("-inf"))


def _encode(model, src: Tensor) -> tuple[Tensor, Optional[Tensor]]:
    """Memory (B, S, C) and its padding mask, None when no source has padding.

    Without padding, cross-attention runs unmasked: no mask to build or apply
    at every step.
    """
    memory, padding = model.encode(src)  # (B, S, C), (B, S)
    return memory, (padding if bool(padding.any()) else None)


def greedy_search(
    model,
    src: Tensor,
    *,
    max_output_len: Optional[int] = None,
    use_cache: bool = True,
    constraint: Optional[CountConstraint] = None,
) -> list[list[int]]:
    """Pick the most probable next token until EOS or the length limit, batched.

    Parameters
    ----------
    model : Seq2Seq
        In eval mode (see :meth:`Seq2Seq.generate`).
    src : LongTensor (B, S)
        Right-padded source ids.
    max_output_len : int, optional
        See the module docstring.
    use_cache : bool, default=True
        Incremental decoding with a KV cache; False re-runs the whole prefix.
    constraint : CountConstraint, optional
        Slot tokens each output must carry exactly as often as required.

    Returns
    -------
    list of list of int
        Generated ids per sentence, without BOS, EOS or padding.
    """
    B = src.shape[0]
    if B == 0:
        return []
    memory, memory_padding_mask = _encode(model, src)  # (B, S, C), (B, S) or None
    limits = _output_limits(model, src, max_output_len)  # (B,)
    cache = model.decoder.new_cache() if use_cache else None
    tokens = src.new_full((B, 1), model.bos_id)  # (B, 1)
    finished = torch.zeros(B, dtype=torch.bool, device=src.device)
    counts = None if constraint is None else constraint.start(rows_per_sentence=1)
    rows = torch.arange(B, device=src.device)
    for step in range(int(limits.max())):
        logits = _next_logits(model, tokens, memory, memory_padding_mask, cache)  # (B, V)
        logits = _ban_unwritable(model, logits)
        if constraint is not None:
            logits = constraint.apply(logits, counts, steps_left=limits - step)
        # The argmax of the logits is that of the log-probabilities: no softmax needed.
        next_ids = logits.argmax(dim=-1)  # (B,)
        next_ids = next_ids.masked_fill(finished, model.padding_idx)
        if constraint is not None:
            counts = constraint.advance(counts, rows, next_ids)
        tokens = torch.cat([tokens, next_ids[:, None]], dim=1)  # (B, step + 2)
        finished |= (next_ids == model.eos_id) | (step + 1 >= limits)
        if bool(finished.all()):
            break
    stops = {model.eos_id, model.padding_idx}
    hyps = []
    for row in tokens[:, 1:].tolist():
        end = next((i for i, t in enumerate(row) if t in stops), len(row))
        hyps.append(row[:end])
    return hyps


def _length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty ``((5 + length) / 6) ** alpha`` (Wu et al., 2016, eq. 14)."""
    return ((5 + length) / 6) ** alpha


class _Finished:
    """Finished hypotheses of each sentence: (normalised score, ids) pairs."""

    def __init__(self, n_sentences: int, beam_size: int, length_penalty: float):
        self.hyps: list[list[tuple[float, list[int]]]] = [[] for _ in range(n_sentences)]
        self.beam_size = beam_size
        self.length_penalty = length_penalty

    def add(self, b: int, score: float, ids: list[int], length: int) -> None:
        """Keep ``ids`` of sentence ``b``; ``length`` counts EOS when it ended the hypothesis."""
        if math.isfinite(score):  # -inf: a dead beam (tiny vocabulary), never a result
            self.hyps[b].append((score / _length_penalty(length, self.length_penalty), ids))

    def is_full(self, b: int) -> bool:
        return len(self.hyps[b]) >= self.beam_size

    def best(self) -> list[list[int]]:
        return [max(h, key=lambda pair: pair[0])[1] if h else [] for h in self.hyps]


def _select(scores: Tensor, log_probs: Tensor, eos_id: int) -> tuple[Tensor, ...]:
    """Top candidates of one beam step.

    ``scores`` (B, K) are the beams' summed log-probs, ``log_probs`` (B * K, V)
    the next-token ones. Returns the top ``2K`` candidates ``(cand_scores,
    cand_beams, cand_ids)``, each (B, 2K), and ``keep`` (B, K): the positions
    among them of the first ``K`` that are not EOS (the next beams). Since one
    beam proposes EOS at most once, ``2K`` candidates always hold ``K`` non-EOS.
    """
    B, K = scores.shape
    V = log_probs.shape[-1]
    candidates = scores[..., None] + log_probs.view(B, K, V)  # (B, K, V)
    cand_scores, flat = candidates.view(B, K * V).topk(2 * K, dim=1)  # (B, 2K)
    cand_beams, cand_ids = flat // V, flat % V  # (B, 2K)
    rank = torch.arange(2 * K, device=scores.device)
    # EOS candidates sort after all others; ties keep rank order.
    keep = ((cand_ids == eos_id).long() * 2 * K + rank).argsort(dim=1)[:, :K]  # (B, K)
    return cand_scores, cand_beams, cand_ids, keep


class _BeamSearch:
    """State of a batched beam search: ``K`` beams per sentence as ``B * K`` rows.

    The beams of sentence ``b`` are rows ``b * K .. b * K + K - 1`` of
    ``tokens``, of the repeated memory and of the KV cache.
    """

    def __init__(
        self,
        model,
        src: Tensor,
        beam_size: int,
        limits: list[int],
        length_penalty: float,
        constraint: Optional[CountConstraint] = None,
    ):
        B, K = src.shape[0], beam_size
        self.constraint = constraint
        self.counts = None if constraint is None else constraint.start(rows_per_sentence=K)
        self.limit_rows = torch.tensor(limits, device=src.device).repeat_interleave(K)
        self.model, self.K, self.limits = model, K, limits
        memory, padding = _encode(model, src)  # (B, S, C), (B, S) or None
        self.memory = memory.repeat_interleave(K, dim=0)  # (B * K, S, C)
        self.memory_padding_mask = (
            None if padding is None else padding.repeat_interleave(K, dim=0)  # (B * K, S)
        )
        self.tokens = src.new_full((B * K, 1), model.bos_id)  # (B * K, 1)
        self.scores = torch.full((B, K), float("-inf"), device=src.device)  # summed log-probs
        self.scores[:, 0] = 0.0  # one live beam at first, or the K beams would be copies
        self.base = torch.arange(B, device=src.device)[:, None] * K  # (B, 1): first row of b
        self.finished = _Finished(B, K, length_penalty)
        self.done = torch.zeros(B, dtype=torch.bool)  # on CPU: read every step

    def step(self, step: int, cache) -> None:
        """Extend every beam by one token, collect finished hypotheses, reorder."""
        logits = _next_logits(self.model, self.tokens, self.memory, self.memory_padding_mask, cache)
        log_probs = _ban_unwritable(self.model, logits.log_softmax(dim=-1))  # (B * K, V)
        if self.constraint is not None:
            steps_left = self.limit_rows - step  # (B * K,)
            log_probs = self.constraint.apply(log_probs, self.counts, steps_left=steps_left)
        cand_scores, cand_beams, cand_ids, keep = _select(
            self.scores, log_probs, self.model.eos_id
        )  # (B, 2K) x 3, (B, K)
        self._collect_eos(step, cand_scores, cand_beams, cand_ids)
        rows = (self.base + cand_beams.gather(1, keep)).view(-1)  # (B * K,): parent rows
        new_ids = cand_ids.gather(1, keep).view(-1, 1)  # (B * K, 1)
        self.tokens = torch.cat([self.tokens[rows], new_ids], dim=1)  # (B * K, step + 2)
        if self.constraint is not None:
            self.counts = self.constraint.advance(self.counts, rows, new_ids.view(-1))
        self.scores = cand_scores.gather(1, keep)  # (B, K)
        self._collect_at_limit(step)
        if cache is not None:
            Decoder.reorder_cache(cache, rows)
        # Sentences that are done propose only -inf candidates from now on.
        self.scores = self.scores.masked_fill(self.done.to(self.scores.device)[:, None], -math.inf)

    def _collect_eos(self, step: int, cand_scores: Tensor, cand_beams: Tensor, cand_ids: Tensor):
        """Finish the EOS candidates among the top ``K``; ``K`` finished make a sentence done."""
        K = self.K
        eos = (cand_ids[:, :K] == self.model.eos_id).cpu() & ~self.done[:, None]  # (B, K)
        if not eos.any():
            return
        scores, beams = cand_scores[:, :K].tolist(), cand_beams[:, :K].tolist()
        for b, j in eos.nonzero().tolist():
            ids = self.tokens[b * K + beams[b][j], 1:].tolist()  # the prefix, EOS not kept
            self.finished.add(b, scores[b][j], ids, length=step + 1)  # length counts EOS
        for b in eos.any(dim=1).nonzero().flatten().tolist():
            self.done[b] = self.finished.is_full(b)

    def _collect_at_limit(self, step: int) -> None:
        """Finish the live beams of sentences that reached their length limit."""
        K = self.K
        for b, limit in enumerate(self.limits):
            if step + 1 >= limit and not self.done[b]:
                ids = self.tokens[b * K : (b + 1) * K, 1:].tolist()
                for score, hyp in zip(self.scores[b].tolist(), ids):
                    self.finished.add(b, score, hyp, length=step + 1)  # no EOS to count
                self.done[b] = True


def beam_search(
    model,
    src: Tensor,
    *,
    beam_size: int,
    max_output_len: Optional[int] = None,
    length_penalty: float = 0.6,
    use_cache: bool = True,
    constraint: Optional[CountConstraint] = None,
) -> list[list[int]]:
    """Batched beam search with the GNMT length penalty (Vaswani et al., 2017, section 6.1).

    Each step scores every beam's next tokens by summed log-probability, keeps
    the top ``2K``, finishes those among the top ``K`` that are EOS, and carries
    the best ``K`` non-EOS ones on as the new beams (the KV cache is reordered
    with ``index_select``). A finished hypothesis scores
    ``sum(log p) / ((5 + len) / 6) ** length_penalty``, ``len`` counting its
    EOS (Wu et al., 2016); the best finished one is returned.

    Stopping rule: a sentence is done once it has ``K`` finished hypotheses
    (every kept beam emitted EOS), or when it reaches its length limit, where
    its live beams are finished as they are. The search stops when every
    sentence is done. With ``beam_size=1`` this is exactly greedy search.

    Parameters
    ----------
    model : Seq2Seq
        In eval mode (see :meth:`Seq2Seq.generate`).
    src : LongTensor (B, S)
        Right-padded source ids.
    beam_size : int
        Beams per sentence ``K``.
    max_output_len : int, optional
        See the module docstring.
    length_penalty : float, default=0.6
        GNMT ``alpha``; 0 ranks finished hypotheses by summed log-prob.
    use_cache : bool, default=True
        Incremental decoding with a KV cache; False re-runs the whole prefix.
    constraint : CountConstraint, optional
        Slot tokens each output must carry exactly as often as required.

    Returns
    -------
    list of list of int
        The best hypothesis per sentence, without BOS, EOS or padding.
    """
    if src.shape[0] == 0:
        return []
    limits = _output_limits(model, src, max_output_len).tolist()
    search = _BeamSearch(model, src, beam_size, limits, length_penalty, constraint)
    cache = model.decoder.new_cache() if use_cache else None
    for step in range(max(limits)):
        search.step(step, cache)
        if bool(search.done.all()):
            break
    return search.finished.best()
