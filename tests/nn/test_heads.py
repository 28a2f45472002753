"""TaskModel, MaskedTokenModel and MaskedFeatureModel: outputs, masking rules, learning."""

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import (
    MaskedFeatureModel,
    MaskedTokenModel,
    TaskModel,
    TransformerBackbone,
)

B, T, N_FEAT = 4, 6, 5
N_SPECIAL, MASK_ID = 4, 2


def _backbone(input_kind, tiny_nn, **kw):
    kw = {**tiny_nn, **kw}
    return TransformerBackbone(input_kind=input_kind, n_features=N_FEAT, **kw)


def _spy_encode(model):
    """Record what the head's model feeds to backbone.encode."""
    calls = []
    encode = model.backbone.encode

    def spy(x, **kw):
        calls.append((x.clone(), kw.get("mask")))
        return encode(x, **kw)

    model.backbone.encode = spy  # instance attribute shadows the method
    return calls


def _loss_before_after(model, x, loss_of, steps, lr=1e-2):
    """``loss_of(model(x))`` before and after a few Adam steps, on a fixed corruption."""

    def evaluate():
        model.eval()
        torch.manual_seed(123)
        with torch.no_grad():
            return loss_of(model(x)).item()

    before = evaluate()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss_of(model(x)).backward()
        opt.step()
    return before, evaluate()


# --- TaskModel ---------------------------------------------------------------


def test_task_model(tiny_nn):
    model = TaskModel(_backbone("features", tiny_nn), n_outputs=3)
    x = torch.randn(B, N_FEAT)
    assert model(x).shape == (B, 3)
    torch.testing.assert_close(model.embed(x), model.backbone(x))
    with pytest.raises(ValueError, match="n_outputs=0"):
        TaskModel(model.backbone, n_outputs=0)


def test_task_model_learns(tiny_nn):
    model = TaskModel(_backbone("features", tiny_nn), n_outputs=2)
    x = torch.randn(16, N_FEAT)
    y = (x[:, 0] > 0).long()
    before, after = _loss_before_after(model, x, lambda out: F.cross_entropy(out, y), steps=30)
    assert after < 0.9 * before


# --- MaskedTokenModel --------------------------------------------------------


def _mlm(tiny_nn, vocab_size=40, **kw):
    bb = TransformerBackbone(input_kind="tokens", vocab_size=vocab_size, max_len=64, **tiny_nn)
    return MaskedTokenModel(bb, vocab_size=vocab_size, mask_id=MASK_ID, n_special=N_SPECIAL, **kw)


def test_masked_token_targets_are_original_non_special_ids(tiny_nn):
    vocab_size, shape = 5000, (40, 50)
    model = _mlm(tiny_nn, vocab_size=vocab_size, mask_prob=0.5)
    calls = _spy_encode(model)
    # Every id unique, so a target identifies its position; special ids sprinkled in.
    ids = (torch.randperm(vocab_size - N_SPECIAL)[: shape[0] * shape[1]] + N_SPECIAL).view(shape)
    special = torch.rand(shape) < 0.2
    ids = torch.where(special, torch.randint(0, N_SPECIAL, shape), ids)
    logits, targets = model(ids)
    corrupted, _ = calls[0]

    assert logits.shape == (len(targets), vocab_size) and targets.dtype == torch.long
    assert torch.all(targets >= N_SPECIAL)
    chosen = torch.isin(ids, targets) & ~special  # positions predicted
    assert chosen.sum() == len(targets)
    assert torch.equal(ids[chosen], targets)  # same row-major order as the logits
    assert 0.4 < chosen.sum() / (~special).sum() < 0.6  # mask_prob=0.5
    # Only chosen positions are corrupted: 80% [MASK], 10% random, 10% kept
    # (~800 chosen: the bounds are > 4 standard deviations wide).
    assert torch.equal(corrupted[~chosen], ids[~chosen])
    new = corrupted[chosen]
    frac_mask = (new == MASK_ID).float().mean()
    frac_kept = (new == targets).float().mean()
    assert 0.74 < frac_mask < 0.86 and 0.05 < frac_kept < 0.15
    random = new[(new != MASK_ID) & (new != targets)]
    assert torch.all(random >= N_SPECIAL) and torch.all(random < vocab_size)


def test_masked_token_is_repeatable_under_manual_seed(tiny_nn):
    model = _mlm(tiny_nn).eval()
    ids = torch.randint(N_SPECIAL, 40, (B, T))
    torch.manual_seed(7)
    first = model(ids)
    torch.manual_seed(7)
    second = model(ids)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    different = [model(ids)[1] for _ in range(5)]
    assert any(not torch.equal(d, first[1]) for d in different)


def test_masked_token_always_predicts_one_when_possible(tiny_nn):
    model = _mlm(tiny_nn, mask_prob=1e-4)
    ids = torch.zeros(B, T, dtype=torch.long)
    ids[2, 3] = 17  # the only candidate
    for seed in range(5):
        torch.manual_seed(seed)
        logits, targets = model(ids)
        assert targets.tolist() == [17] and logits.shape == (1, 40)


def test_masked_token_without_candidates_returns_empty(tiny_nn):
    model = _mlm(tiny_nn)
    for ids in (torch.randint(0, N_SPECIAL, (B, T)), torch.zeros(B, 0, dtype=torch.long)):
        logits, targets = model(ids)
        assert logits.shape == (0, 40) and targets.shape == (0,) and targets.dtype == torch.long
    torch.testing.assert_close(model.embed(ids), model.backbone(ids))


def test_masked_token_invalid_arguments(tiny_nn):
    bb = TransformerBackbone(input_kind="tokens", vocab_size=40, **tiny_nn)
    with pytest.raises(ValueError, match="n_special=40"):
        MaskedTokenModel(bb, vocab_size=40, mask_id=2, n_special=40)
    with pytest.raises(ValueError, match="mask_prob=0"):
        MaskedTokenModel(bb, vocab_size=40, mask_id=2, n_special=4, mask_prob=0)
    with pytest.raises(ValueError, match="input_kind='tokens'"):
        MaskedTokenModel(_backbone("features", tiny_nn), vocab_size=40, mask_id=2, n_special=4)


def test_masked_token_learns(tiny_nn):
    model = _mlm(tiny_nn, vocab_size=12, mask_prob=0.3)
    # Each row repeats one id: easy to fill in from context.
    ids = torch.randint(N_SPECIAL, 12, (8, 1)).expand(8, 8).clone()
    before, after = _loss_before_after(model, ids, lambda out: F.cross_entropy(*out), steps=30)
    assert after < 0.9 * before


# --- MaskedFeatureModel ------------------------------------------------------


@pytest.mark.parametrize("mask_prob", [0.3, 1.0, 1e-4])
def test_masked_features_targets_are_hidden_values(tiny_nn, mask_prob):
    model = MaskedFeatureModel(_backbone("features", tiny_nn), mask_prob=mask_prob)
    calls = _spy_encode(model)
    x = torch.randn(32, N_FEAT)
    pred, target = model(x)
    _, hide = calls[0]
    assert hide.shape == x.shape and hide.dtype == torch.bool
    n_hidden = hide.sum(1)
    assert torch.all(n_hidden >= 1) and torch.all(n_hidden <= N_FEAT - 1)
    if mask_prob == 1.0:
        assert torch.all(n_hidden == N_FEAT - 1)
    if mask_prob == 1e-4:
        assert torch.all(n_hidden == 1)
    assert pred.shape == target.shape == (int(n_hidden.sum()),)
    assert torch.equal(target, x[hide])


def test_masked_features_single_feature_is_always_hidden(tiny_nn):
    bb = TransformerBackbone(input_kind="features", n_features=1, **tiny_nn)
    pred, target = MaskedFeatureModel(bb)(x := torch.randn(B, 1))
    assert pred.shape == (B,) and torch.equal(target, x[:, 0])


def test_masked_sequence_targets_are_hidden_steps(tiny_nn):
    model = MaskedFeatureModel(_backbone("sequence", tiny_nn), mask_prob=0.3)
    calls = _spy_encode(model)
    x = torch.randn(B, T, N_FEAT)
    pred, target = model(x)
    _, hide = calls[0]
    assert hide.shape == (B, T)
    assert torch.all(hide.sum(1) >= 1) and torch.all(hide.sum(1) <= T - 1)
    assert pred.shape == target.shape == (int(hide.sum()), N_FEAT)
    assert torch.equal(target, x[hide])
    torch.testing.assert_close(model.embed(x), model.backbone(x))


def test_masked_feature_invalid_arguments(tiny_nn):
    bb = TransformerBackbone(input_kind="tokens", vocab_size=40, **tiny_nn)
    with pytest.raises(ValueError, match="MaskedTokenModel"):
        MaskedFeatureModel(bb)
    with pytest.raises(ValueError, match="mask_prob=1.5"):
        MaskedFeatureModel(_backbone("features", tiny_nn), mask_prob=1.5)
    with pytest.raises(ValueError, match="2-D"):
        MaskedFeatureModel(_backbone("features", tiny_nn))(torch.randn(B, T, N_FEAT))


@pytest.mark.parametrize("input_kind", ["features", "sequence"])
def test_masked_feature_learns(tiny_nn, input_kind):
    model = MaskedFeatureModel(_backbone(input_kind, tiny_nn), mask_prob=0.3)
    # Correlated columns / steps: hidden values are predictable from the visible ones.
    base = torch.randn(16, 1)
    x = base + 0.1 * torch.randn(16, N_FEAT)
    if input_kind == "sequence":
        x = base[..., None] + 0.1 * torch.randn(16, T, N_FEAT)
    before, after = _loss_before_after(model, x, lambda out: F.mse_loss(*out), steps=30)
    assert after < 0.9 * before
