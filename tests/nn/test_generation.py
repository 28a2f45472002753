"""Seq2Seq.generate: the copy task, greedy and beam search, cache, lengths, special ids."""

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import Seq2Seq
from sktfm.nn.generation import beam_search, greedy_search

PAD, BOS, EOS = 0, 5, 6
SPECIAL = {PAD, BOS, EOS}
V = 20  # copy task ids: 7..19
MAX_OUT = 10


def _copy_batch(n, generator=None):
    """Copy task: random ids 7..19, lengths 3..6; returns (src, tgt_in, tgt_out)."""
    lengths = torch.randint(3, 7, (n,), generator=generator)
    ids = torch.randint(7, V, (n, 6), generator=generator)
    src = ids.masked_fill(torch.arange(6)[None, :] >= lengths[:, None], PAD)  # (n, 6)
    tgt = torch.cat([torch.full((n, 1), BOS), src, torch.full((n, 1), PAD)], dim=1)
    tgt[torch.arange(n), lengths + 1] = EOS  # BOS x EOS, padded: (n, 8)
    return src, tgt[:, :-1], tgt[:, 1:]


def _train_copy(n_steps, **kw):
    """A tiny Seq2Seq trained on the copy task with Adam; returns (model, losses)."""
    kw = {**dict(d_model=32, n_heads=2, n_encoder_layers=1, n_decoder_layers=1), **kw}
    model = Seq2Seq(
        src_vocab_size=V, tgt_vocab_size=V, dim_feedforward=64, dropout=0.0, max_len=16, **kw
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = [_train_step(model, optimizer) for _ in range(n_steps)]
    return model, losses


def _train_step(model, optimizer):
    src, tgt_in, tgt_out = _copy_batch(64)
    log_probs = model(src, tgt_in)
    loss = F.nll_loss(log_probs.reshape(-1, V), tgt_out.reshape(-1), ignore_index=PAD)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def test_learns_the_copy_task():
    """Annotated Transformer's sanity check: a tiny model learns to copy its input."""
    model, losses = _train_copy(250)
    assert losses[0] > 10 * losses[-1]
    src, _, _ = _copy_batch(100, torch.Generator().manual_seed(123))  # held out
    expected = [[t for t in row if t != PAD] for row in src.tolist()]
    for beam_size in (1, 3):
        hyps = model.generate(src, beam_size=beam_size)
        accuracy = sum(h == e for h, e in zip(hyps, expected)) / len(expected)
        assert accuracy >= 0.9, (beam_size, accuracy)


@pytest.fixture(scope="module")
def half_trained():
    """A copy model stopped early: input-dependent, EOS-terminated, still unsure.

    Unlike a random model (which repeats one id and seldom ends), its outputs
    vary in length and beam search can beat greedy, so the tests below have teeth.
    """
    torch.manual_seed(0)
    model, _ = _train_copy(100, n_decoder_layers=2)
    return model.eval()


def _src():
    """(16, 6) right-padded source ids; row 2 is an empty sentence."""
    src, _, _ = _copy_batch(16, torch.Generator().manual_seed(1))
    src[2] = PAD
    return src


def _score(model, src, hyps, limit, length_penalty):
    """Model score of each hypothesis: summed log-probs (EOS included) / GNMT penalty."""
    scores = []
    for i, hyp in enumerate(hyps):
        target = hyp + ([EOS] if len(hyp) < limit else [])  # at the limit: cut, no EOS
        tgt_in = torch.tensor([[BOS] + hyp])[:, : len(target)]
        log_probs = model(src[i : i + 1], tgt_in)[0]  # (T, V)
        total = log_probs[torch.arange(len(target)), torch.tensor(target)].sum().item()
        scores.append(total / ((5 + len(target)) / 6) ** length_penalty)
    return scores


@pytest.mark.parametrize("beam_size", [1, 4])
def test_cached_and_uncached_give_identical_tokens(half_trained, beam_size):
    src = _src()
    cached = half_trained.generate(src, beam_size=beam_size, max_output_len=MAX_OUT)
    uncached = half_trained.generate(
        src, beam_size=beam_size, max_output_len=MAX_OUT, use_cache=False
    )
    assert cached == uncached
    assert len({len(hyp) for hyp in cached}) > 1  # varied outputs: the check has teeth


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-norm", "post-norm"])
@pytest.mark.parametrize("beam_size", [1, 3])
def test_cached_and_uncached_agree_on_random_models(beam_size, norm_first):
    model = _random_model(norm_first=norm_first, positional="learned", n_decoder_layers=3)
    src = _src()
    cached = model.generate(src, beam_size=beam_size, max_output_len=MAX_OUT)
    assert cached == model.generate(
        src, beam_size=beam_size, max_output_len=MAX_OUT, use_cache=False
    )


@pytest.mark.parametrize("length_penalty", [0.6, 0.0])
def test_beam_of_one_is_greedy(half_trained, length_penalty):
    src = _src()
    with torch.inference_mode():
        greedy = greedy_search(half_trained, src, max_output_len=MAX_OUT)
        beam = beam_search(
            half_trained, src, beam_size=1, max_output_len=MAX_OUT, length_penalty=length_penalty
        )
    assert beam == greedy
    assert half_trained.generate(src, max_output_len=MAX_OUT) == greedy


@pytest.mark.parametrize("length_penalty", [0.6, 0.0, 1.0])
def test_beam_search_scores_at_least_as_well_as_greedy(half_trained, length_penalty):
    src = _src()
    greedy = half_trained.generate(src, max_output_len=MAX_OUT)
    beam = half_trained.generate(
        src, beam_size=4, max_output_len=MAX_OUT, length_penalty=length_penalty
    )
    with torch.no_grad():
        greedy_scores = _score(half_trained, src, greedy, MAX_OUT, length_penalty)
        beam_scores = _score(half_trained, src, beam, MAX_OUT, length_penalty)
    for g, b in zip(greedy_scores, beam_scores):
        assert b >= g - 1e-5
    assert any(b > g + 1e-3 for g, b in zip(greedy_scores, beam_scores))  # beam does search


def _random_model(**kw):
    """An untrained model (on the copy vocabulary)."""
    tiny = dict(d_model=16, n_heads=2, dim_feedforward=32, dropout=0.0, max_len=20)
    return Seq2Seq(src_vocab_size=V, tgt_vocab_size=V, **{**tiny, **kw}).eval()


@pytest.mark.parametrize("beam_size", [1, 3])
def test_output_never_holds_special_ids(half_trained, beam_size):
    src = _src()
    model = _random_model(tie_embeddings=False)
    with torch.no_grad():  # make BOS and padding the favourite next tokens
        model.output.bias[BOS] = 20.0
        model.output.bias[PAD] = 20.0
    for m in (half_trained, model):
        hyps = m.generate(src, beam_size=beam_size, max_output_len=MAX_OUT)
        assert len(hyps) == len(src) and any(len(hyp) > 0 for hyp in hyps)
        assert all(isinstance(t, int) and t not in SPECIAL for hyp in hyps for t in hyp)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_batched_generate_equals_per_sentence(half_trained, beam_size):
    src = _src()
    batched = half_trained.generate(src, beam_size=beam_size)  # default length limits
    for i, row in enumerate(src):
        alone = row[row != PAD][None]  # (1, S_i): no padding at all, S_i = 0 for row 2
        assert half_trained.generate(alone, beam_size=beam_size) == [batched[i]]


@pytest.mark.parametrize("beam_size", [1, 3])
def test_length_limits(beam_size):
    model, src = _random_model(max_len=55, tie_embeddings=False), _src()
    with torch.no_grad():
        model.output.bias[EOS] = -1e4  # never ends: every output runs to its limit
    hyps = model.generate(src, beam_size=beam_size)
    n_src = (src != PAD).sum(dim=1).tolist()
    assert 0 in n_src
    assert [len(h) for h in hyps] == [min(n + 50, 55) for n in n_src]  # source + 50, capped
    hyps = model.generate(src, beam_size=beam_size, max_output_len=4)
    assert [len(h) for h in hyps] == [4] * len(src)
    hyps = model.generate(src[:1], beam_size=beam_size, max_output_len=500)  # capped at max_len
    assert [len(h) for h in hyps] == [55]


@pytest.mark.parametrize("beam_size", [1, 3])
def test_empty_sources(half_trained, beam_size):
    src = torch.full((2, 4), PAD)  # two empty sentences
    hyps = half_trained.generate(src, beam_size=beam_size, max_output_len=5)
    assert len(hyps) == 2 and hyps[0] == hyps[1]
    assert half_trained.generate(src[:0], beam_size=beam_size) == []  # no sentences


@pytest.mark.parametrize("beam_size", [1, 3])
def test_cached_path_feeds_one_position_per_step(beam_size):
    model = _random_model(tie_embeddings=False, n_decoder_layers=2)
    with torch.no_grad():
        model.output.bias[EOS] = -1e4  # run all MAX_OUT steps
    src = _src()
    seen, projected = [], []
    layer = model.decoder.layers[1]
    layer.feedforward.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[1]))
    layer.cross_attn.k_proj.register_forward_hook(
        lambda mod, inp, out: projected.append(tuple(inp[0].shape))
    )
    model.generate(src, beam_size=beam_size, max_output_len=MAX_OUT)
    assert seen == [1] * MAX_OUT  # one decoder position per step
    assert projected == [(len(src) * beam_size, 6, 16)]  # the memory is projected once
    seen.clear()
    model.generate(src, beam_size=beam_size, max_output_len=MAX_OUT, use_cache=False)
    assert seen == list(range(1, MAX_OUT + 1))  # the reference path re-runs the prefix


def test_generate_runs_in_eval_and_inference_mode_and_restores_training():
    model, src = _random_model(dropout=0.5), _src()
    expected = model.generate(src, beam_size=2, max_output_len=8)
    modes = []
    model.decoder.register_forward_hook(
        lambda mod, inp, out: modes.append((mod.training, torch.is_inference_mode_enabled()))
    )
    model.train()
    assert model.generate(src, beam_size=2, max_output_len=8) == expected  # no dropout
    assert model.training and model.decoder.layers[0].training
    assert modes and all(mode == (False, True) for mode in modes)


def test_invalid_arguments():
    model, src = _random_model(), _src()
    with pytest.raises(ValueError, match="beam_size=0"):
        model.generate(src, beam_size=0)
    with pytest.raises(ValueError, match="max_output_len=0"):
        model.generate(src, max_output_len=0)
    with pytest.raises(TypeError, match="integer tensor"):
        model.generate(src.float())
