"""Patch tokens for numeric sequences: values, padding, and masked-patch pretraining."""

import pytest
import torch

from sktfm.nn import MaskedFeatureModel, SequenceEmbedding, TransformerBackbone

C, F = 16, 3
NAN = float("nan")


def _pad(x, length):
    """``x`` (T, F) padded with all-NaN steps to ``length``."""
    return torch.cat([x, torch.full((length - len(x), x.shape[1]), NAN)])


def _batch(series):
    """A NaN-padded (B, T_max, F) batch of (T_i, F) series."""
    width = max(len(s) for s in series)
    return torch.stack([_pad(s, width) for s in series])


def _patches_by_hand(x, patch_size, stride):
    """Patches of ``x`` (B, T, F): starts until the series is covered, zero-filled, step-major."""
    B, T, F_ = x.shape
    starts = [0]
    while starts[-1] + patch_size < T:
        starts.append(starts[-1] + stride)
    out = torch.zeros(B, len(starts), patch_size * F_)
    for j, s in enumerate(starts):
        chunk = torch.zeros(B, patch_size, F_)
        end = min(s + patch_size, T)
        chunk[:, : end - s] = x[:, s:end]
        out[:, j] = chunk.reshape(B, patch_size * F_)  # step 0's channels, then step 1's, ...
    return out


def test_patch_size_1_is_one_token_per_step():
    emb = SequenceEmbedding(F, C, patch_size=1)
    x = torch.randn(2, 7, F) + 1.0
    tokens, padding = emb(x)
    assert tokens.shape == (2, 7, C)
    torch.testing.assert_close(tokens, emb.proj(x))  # the same weights, step by step
    torch.testing.assert_close(tokens[:, 3], x[:, 3] @ emb.proj.weight.T + emb.proj.bias)
    assert not padding.any()


@pytest.mark.parametrize(
    ("T", "patch_size", "stride"),
    [
        (12, 3, None),  # non-overlapping, exact
        (10, 3, None),  # non-overlapping, last patch partial
        (10, 4, 2),  # overlapping
        (11, 4, 3),  # overlapping, last patch partial
        (10, 2, 3),  # strided past the patch: gaps between patches
        (2, 5, None),  # shorter than one patch
    ],
)
def test_patches_are_those_cut_by_hand(T, patch_size, stride):
    emb = SequenceEmbedding(F, C, patch_size=patch_size, stride=stride)
    x = torch.randn(2, T, F) + 0.5
    expected = _patches_by_hand(x, patch_size, stride or patch_size)
    patches, padding = emb.patchify(x)
    assert emb.n_patches(T) == expected.shape[1]
    torch.testing.assert_close(patches, expected)
    assert not padding.any()
    tokens, _ = emb(x)
    torch.testing.assert_close(tokens, emb.proj(expected))


def test_patchify_checks_the_channel_count():
    emb = SequenceEmbedding(F, C, patch_size=2)
    with pytest.raises(ValueError, match="n_features=3"):
        emb(torch.randn(2, 6, F + 1))


def _valid_patches(length, patch_size, stride):
    return SequenceEmbedding(1, 2, patch_size=patch_size, stride=stride).n_patches(length)


@pytest.mark.parametrize(
    ("patch_size", "stride"),
    [
        (1, None),
        (3, None),
        (4, 2),
        (2, 3),
    ],
)
def test_padding_does_not_change_a_series_tokens(patch_size, stride):
    emb = SequenceEmbedding(F, C, patch_size=patch_size, stride=stride)
    x = torch.randn(10, F) - 0.3
    n_valid = _valid_patches(10, patch_size, stride or patch_size)
    alone, padding = emb(x[None])
    assert alone.shape[1] == n_valid and not padding.any()
    for length in (11, 13, 16, 23):
        tokens, padding = emb(_pad(x, length)[None])
        torch.testing.assert_close(tokens[:, :n_valid], alone, rtol=0, atol=0)
        assert not padding[0, :n_valid].any()
        assert padding[0, n_valid:].all(), (length, padding)


def test_hidden_patches_become_the_mask_vector_and_their_values_do_not_leak():
    emb = SequenceEmbedding(F, C, patch_size=2)
    x = torch.randn(1, 6, F)
    mask = torch.tensor([[False, True, False]])
    tokens, _ = emb(x, mask=mask)
    torch.testing.assert_close(tokens[0, 1], emb.mask_embedding)
    x2 = x.clone()
    x2[0, 2:4] = torch.randn(2, F) * 100  # the hidden patch
    torch.testing.assert_close(emb(x2, mask=mask)[0], tokens)


# ---------------------------------------------------------------- backbone
def _backbone(pooling, patch_size, stride, tiny_nn):
    torch.manual_seed(0)
    bb = TransformerBackbone(
        input_kind="sequence",
        n_features=F,
        patch_size=patch_size,
        patch_stride=stride,
        pooling=pooling,
        max_len=32,
        **tiny_nn,
    )
    return bb.eval()


@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
@pytest.mark.parametrize(
    ("patch_size", "stride"),
    [(1, None), (3, None), (4, 2)],
    ids=["step", "patch3", "overlap4-2"],
)
def test_backbone_batch_of_unequal_series_equals_each_alone(pooling, patch_size, stride, tiny_nn):
    bb = _backbone(pooling, patch_size, stride, tiny_nn)
    series = [torch.randn(n, F) * 2 + 1 for n in (7, 12, 3, 10, 1)]
    with torch.no_grad():
        batched = bb(_batch(series))
        longer = bb(torch.stack([_pad(s, 20) for s in series]))  # padded past the longest
        for i, s in enumerate(series):
            alone = bb(s[None])[0]
            torch.testing.assert_close(batched[i], alone, rtol=0, atol=1e-5)
            torch.testing.assert_close(longer[i], alone, rtol=0, atol=1e-5)
    assert torch.isfinite(batched).all()


def test_backbone_max_len_counts_patches(tiny_nn):
    bb = _backbone("mean", 4, None, tiny_nn)  # max_len=32 patches of 4 steps
    with torch.no_grad():
        assert bb(torch.randn(1, 128, F)).shape == (1, C)
    with pytest.raises(ValueError, match="number of patches.*33 exceeds max_len=32"):
        bb(torch.randn(1, 129, F))


# ------------------------------------------------------ masked-patch model
@pytest.mark.parametrize(("patch_size", "stride"), [(1, None), (3, None), (4, 2)])
def test_masked_patch_model_predicts_whole_patches(patch_size, stride, tiny_nn):
    bb = _backbone("mean", patch_size, stride, tiny_nn)
    model = MaskedFeatureModel(bb, mask_prob=0.5)
    pred, target = model(torch.randn(4, 12, F))
    assert pred.shape == target.shape
    assert pred.ndim == 2 and pred.shape[1] == patch_size * F
    assert 4 <= pred.shape[0] <= 4 * bb.embedding.n_patches(12)


@pytest.mark.parametrize("mask_prob", [0.15, 0.6, 1.0])
def test_masked_patch_model_never_hides_padding(mask_prob, tiny_nn):
    bb = _backbone("mean", 3, None, tiny_nn)
    model = MaskedFeatureModel(bb, mask_prob=mask_prob)
    series = [torch.randn(n, F) for n in (1, 2, 4, 14, 5)]  # mostly padding for short ones
    x = _batch(series)
    _, padding = bb.embedding.patchify(x)
    hidden = []
    encode = bb.encode

    def spy(x, *, mask=None, **kwargs):
        hidden.append(mask)
        return encode(x, mask=mask, **kwargs)

    bb.encode = spy
    for seed in range(20):
        torch.manual_seed(seed)
        pred, target = model(x)
        mask = hidden[-1]
        assert not (mask & padding).any()
        assert mask.any(dim=1).all()  # every series has something to reconstruct
        assert pred.shape == target.shape == (int(mask.sum()), 3 * F)
        assert torch.isfinite(target).all()  # padding steps of a partial patch are zeros


def test_masked_patch_loss_is_finite_and_trains_on_short_padded_series(tiny_nn):
    bb = _backbone("mean", 4, None, tiny_nn).train()
    model = MaskedFeatureModel(bb)
    x = _batch([torch.randn(n, F) for n in (1, 3, 5, 16)])
    pred, target = model(x)
    loss = torch.nn.functional.mse_loss(pred, target)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert bb.embedding.proj.weight.grad.abs().sum() > 0
