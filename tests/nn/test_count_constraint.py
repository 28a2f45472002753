"""CountConstraint: generated outputs carry each slot token exactly as often as required."""

import pytest
import torch

from sktfm.nn import Seq2Seq
from sktfm.nn.generation import CountConstraint

PAD, BOS, EOS = 0, 5, 6
V = 24
# Slot tokens: 20 carries slot 0, 21 slot 1, 22 carries slot 0 twice, 23 slots 0 and 1.
TOKEN_SLOTS = torch.zeros(V, 2, dtype=torch.long)
TOKEN_SLOTS[20, 0] = TOKEN_SLOTS[21, 1] = 1
TOKEN_SLOTS[22, 0] = 2
TOKEN_SLOTS[23] = torch.tensor([1, 1])


def _random_model(seed):
    torch.manual_seed(seed)
    model = Seq2Seq(
        src_vocab_size=V,
        tgt_vocab_size=V,
        d_model=32,
        n_heads=2,
        n_encoder_layers=1,
        n_decoder_layers=1,
        dim_feedforward=64,
        dropout=0.0,
        max_len=24,
    )
    with torch.no_grad():  # make slot tokens and EOS likely, so the constraint has work
        model.output.bias[20:] += 2.0
        model.output.bias[EOS] += 1.0
    return model.eval()


def _counts(hyp):
    return TOKEN_SLOTS[torch.tensor(hyp, dtype=torch.long)].sum(dim=0).tolist() if hyp else [0, 0]


@pytest.mark.parametrize("beam_size", [1, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_outputs_carry_each_slot_exactly_as_required(beam_size, seed):
    model = _random_model(seed)
    generator = torch.Generator().manual_seed(seed)
    src = torch.randint(7, 20, (8, 6), generator=generator)
    required = torch.randint(0, 3, (8, 2), generator=generator)
    constraint = CountConstraint(required, TOKEN_SLOTS, eos_id=EOS)
    hyps = model.generate(src, beam_size=beam_size, max_output_len=20, constraint=constraint)
    for hyp, need in zip(hyps, required.tolist()):
        assert _counts(hyp) == need, (hyp, need)


def test_without_constraint_slots_are_free():
    model = _random_model(0)
    src = torch.randint(7, 20, (8, 6), generator=torch.Generator().manual_seed(0))
    hyps = model.generate(src, max_output_len=20)
    assert any(_counts(h) != [0, 0] for h in hyps)  # the biased model emits slot tokens


def test_apply_bans_over_quota_tokens_and_early_eos():
    constraint = CountConstraint(torch.tensor([[1, 0], [0, 0]]), TOKEN_SLOTS, eos_id=EOS)
    counts = constraint.start(rows_per_sentence=1)
    scores = constraint.apply(torch.randn(2, V), counts)
    assert torch.isinf(scores[0, [EOS, 21, 22, 23]]).all() and torch.isfinite(scores[0, 20])
    assert torch.isinf(scores[1, 20:]).all() and torch.isfinite(scores[1, EOS])
    counts = constraint.advance(counts, torch.tensor([0, 1]), torch.tensor([20, 9]))
    assert counts.tolist() == [[1, 0], [0, 0]]
    scores = constraint.apply(torch.randn(2, V), counts)
    assert torch.isfinite(scores[0, EOS]) and torch.isinf(scores[0, 20])


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="n_slots"):
        CountConstraint(torch.zeros(2, 3, dtype=torch.long), TOKEN_SLOTS, eos_id=EOS)
