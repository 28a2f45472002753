"""BertEmbedding, BertBackbone, bert_kwargs and load_bert_state (sktfm.nn.bert).

tests/test_pretrained.py runs a real checkpoint end to end against
sentence-transformers; here, on tiny random models: the architecture against
BERT written out in float64, padding, the config and the checkpoint names.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from sktfm.nn import BertBackbone, BertEmbedding
from sktfm.nn.bert import bert_kwargs, load_bert_state

V, C, H, L, FF, P, PAD = 30, 16, 2, 2, 32, 12, 0


def _backbone(**kw):
    """A tiny BertBackbone in eval mode, every parameter random (LayerNorms too)."""
    kw = {
        "vocab_size": V,
        "d_model": C,
        "n_heads": H,
        "n_layers": L,
        "dim_feedforward": FF,
        "max_positions": P,
        "dropout": 0.0,
        **kw,
    }
    backbone = BertBackbone(**kw).eval()
    with torch.no_grad():
        for param in backbone.parameters():
            param.copy_(torch.randn_like(param) * 0.3)
    return backbone


def _ids(lengths, t=None):
    """[CLS]=2 random ids [SEP]=3, then padding: (B, t) long."""
    t = t or max(lengths)
    ids = torch.randint(4, V, (len(lengths), t))
    for row, n in enumerate(lengths):
        ids[row, 0], ids[row, n - 1], ids[row, n:] = 2, 3, PAD
    return ids


def _reference(backbone, ids):
    """BERT (Devlin et al., 2019; Hugging Face's BertModel) in float64: states (B, T, C)."""
    p = {name: tensor.double() for name, tensor in backbone.state_dict().items()}
    eps = backbone.embedding.norm.eps
    B, T = ids.shape
    padding = ids == PAD

    def norm(x, name):
        return F.layer_norm(x, (C,), p[f"{name}.weight"], p[f"{name}.bias"], eps)

    def linear(x, name):
        return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]

    x = (
        p["embedding.word.weight"][ids]
        + p["embedding.position.weight"][:T]
        + p["embedding.token_type.weight"][0]
    )
    x = norm(x, "embedding.norm")
    for i in range(L):
        layer = f"encoder.layers.{i}"
        q, k, v = (
            linear(x, f"{layer}.self_attn.{s}_proj").view(B, T, H, C // H).transpose(1, 2)
            for s in "qkv"
        )  # (B, H, T, D)
        scores = q @ k.transpose(-1, -2) / math.sqrt(C // H)  # (B, H, T, T)
        scores = scores.masked_fill(padding[:, None, None, :], -math.inf)
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        attended = linear(attended, f"{layer}.self_attn.out_proj")
        x = norm(x + attended, f"{layer}.norm1")  # post-norm: LayerNorm after the residual
        hidden = F.gelu(linear(x, f"{layer}.feedforward.linear1"))  # exact GELU
        x = norm(x + linear(hidden, f"{layer}.feedforward.linear2"), f"{layer}.norm2")
    return x, padding


@pytest.mark.parametrize("grad", [True, False], ids=["train-path", "inference-path"])
def test_states_and_pooling_match_a_float64_reference(grad):
    backbone = _backbone(pooling="mean")
    ids = _ids([7, 3, 10])
    with torch.set_grad_enabled(grad):
        states, padding = backbone.encode(ids)
        pooled = backbone(ids)
    expected, expected_padding = _reference(backbone, ids)
    assert torch.equal(padding, expected_padding)
    keep = ~padding  # padded positions' states are not part of the contract
    torch.testing.assert_close(states[keep].double(), expected[keep], rtol=1e-4, atol=1e-4)
    valid = keep[..., None].double()
    expected_mean = (expected * valid).sum(1) / valid.sum(1)
    torch.testing.assert_close(pooled.double(), expected_mean, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_padding_changes_no_real_token(pooling):
    backbone = _backbone(pooling=pooling)
    ids = _ids([6, 4])
    padded = torch.cat([ids, torch.full((2, 5), PAD)], dim=1)  # (2, 11)
    states, _ = backbone.encode(ids)
    padded_states, padding = backbone.encode(padded)
    assert padding[:, 6:].all()
    torch.testing.assert_close(padded_states[:, :6][ids != PAD], states[ids != PAD])
    torch.testing.assert_close(backbone(padded), backbone(ids))


def test_embedding_sums_word_position_and_type_then_normalizes():
    emb = BertEmbedding(
        V, C, max_positions=P, type_vocab_size=2, layer_norm_eps=1e-12, dropout=0.5, padding_idx=PAD
    )
    ids = torch.randint(1, V, (3, 5))
    table = (
        emb.word.weight.double()[ids]
        + emb.position.weight.double()[:5]
        + emb.token_type.weight.double()[0]
    )
    expected = F.layer_norm(table, (C,), emb.norm.weight.double(), emb.norm.bias.double(), 1e-12)
    torch.testing.assert_close(emb.eval()(ids).double(), expected, rtol=1e-5, atol=1e-5)
    dropped = emb.train()(ids)
    assert (dropped == 0).any() and not torch.allclose(dropped.double(), expected)


def test_architecture_is_post_norm_with_exact_gelu_and_the_config_epsilon():
    backbone = BertBackbone(
        vocab_size=V,
        d_model=C,
        n_heads=H,
        n_layers=L,
        dim_feedforward=FF,
        layer_norm_eps=1e-7,
        pooling="cls",
    )
    layers = list(backbone.encoder.layers)
    assert len(layers) == L and not any(layer.norm_first for layer in layers)
    assert isinstance(backbone.encoder.norm, torch.nn.Identity)  # no final LayerNorm
    for layer in layers:
        assert isinstance(layer.feedforward.activation, torch.nn.GELU)
        assert layer.feedforward.activation.approximate == "none"
        assert layer.norm1.eps == layer.norm2.eps == 1e-7
    assert backbone.embedding.norm.eps == 1e-7
    assert backbone.pooling.mode == "cls" and backbone.max_len == 512


def test_need_weights_returns_the_masked_attention_of_every_layer():
    backbone = _backbone()
    ids = _ids([5, 8])
    states, padding, weights = backbone.encode(ids, need_weights=True)
    torch.testing.assert_close(states[~padding], backbone.encode(ids)[0][~padding])
    assert len(weights) == L
    for w in weights:
        assert w.shape == (2, H, 8, 8)
        torch.testing.assert_close(
            w.sum(-1)[~padding[:, None, :].expand(2, H, 8)], torch.ones(2 * H * 8 - H * 3)
        )
        assert torch.all(w[0, :, :, 5:] == 0)  # padded keys get no weight


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda bb: bb.encode(_ids([4]), mask=torch.zeros(1, 4, dtype=torch.bool)), "mask"),
        (lambda bb: bb.encode(torch.randn(1, 4)), "integer ids"),
        (lambda bb: bb.encode(_ids([P + 1])), f"exceeds the {P} positions"),
        (
            lambda bb: BertBackbone(
                vocab_size=V, d_model=C, n_heads=3, n_layers=1, dim_feedforward=FF
            ),
            "n_heads=3 must divide",
        ),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call(_backbone())


def _config(**kw):
    return {
        "model_type": "bert",
        "vocab_size": V,
        "hidden_size": C,
        "num_attention_heads": H,
        "num_hidden_layers": L,
        "intermediate_size": FF,
        **kw,
    }


def test_bert_kwargs_reads_a_config_and_fills_bert_defaults():
    kwargs = bert_kwargs(
        _config(
            max_position_embeddings=P,
            layer_norm_eps=1e-7,
            hidden_dropout_prob=0.2,
            pad_token_id=1,
            hidden_act="relu",
        )
    )
    assert kwargs == {
        "vocab_size": V,
        "d_model": C,
        "n_heads": H,
        "n_layers": L,
        "dim_feedforward": FF,
        "max_positions": P,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-7,
        "dropout": 0.2,
        "activation": "relu",
        "padding_idx": 1,
    }
    defaults = bert_kwargs(_config())
    assert (
        defaults["max_positions"],
        defaults["layer_norm_eps"],
        defaults["dropout"],
        defaults["activation"],
        defaults["padding_idx"],
    ) == (512, 1e-12, 0.1, "gelu", 0)
    assert isinstance(BertBackbone(**defaults), BertBackbone)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"model_type": "gpt2"}, "not a BERT-family one"),
        ({"model_type": "roberta"}, "not supported yet"),
        ({"hidden_act": "silu"}, "hidden_act='silu'"),
        ({"position_embedding_type": "relative_key"}, "absolute position"),
    ],
)
def test_bert_kwargs_refuses_what_it_cannot_build(change, match):
    with pytest.raises(ValueError, match=match):
        bert_kwargs(_config(**change))


# Our names -> Hugging Face BertModel names, TensorFlow-era ones (bert. prefix,
# LayerNorm gamma/beta) included.
_HF = [
    ("embedding.word.", "embeddings.word_embeddings."),
    ("embedding.position.", "embeddings.position_embeddings."),
    ("embedding.token_type.", "embeddings.token_type_embeddings."),
    ("embedding.norm.", "embeddings.LayerNorm."),
    ("encoder.layers.", "encoder.layer."),
    ("self_attn.q_proj.", "attention.self.query."),
    ("self_attn.k_proj.", "attention.self.key."),
    ("self_attn.v_proj.", "attention.self.value."),
    ("self_attn.out_proj.", "attention.output.dense."),
    ("norm1.", "attention.output.LayerNorm."),
    ("feedforward.linear1.", "intermediate.dense."),
    ("feedforward.linear2.", "output.dense."),
    ("norm2.", "output.LayerNorm."),
]


def _as_tf_checkpoint(backbone):
    checkpoint = {}
    for name, tensor in backbone.state_dict().items():
        for ours, theirs in _HF:
            name = name.replace(ours, theirs)
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma")
        checkpoint["bert." + name.replace("LayerNorm.bias", "LayerNorm.beta")] = tensor.clone()
    return checkpoint


def test_a_checkpoint_loads_into_a_fresh_backbone_that_then_computes_the_same():
    source = _backbone()
    checkpoint = _as_tf_checkpoint(source)
    assert "bert.encoder.layer.1.attention.output.LayerNorm.gamma" in checkpoint
    extra = {"cls.predictions.bias": torch.randn(V), "bert.pooler.dense.weight": torch.randn(C, C)}
    target = BertBackbone(
        vocab_size=V,
        d_model=C,
        n_heads=H,
        n_layers=L,
        dim_feedforward=FF,
        max_positions=P,
        dropout=0.0,
    ).eval()
    ids = _ids([9, 5])
    assert not torch.allclose(target(ids), source(ids))
    unused = load_bert_state(target, {**checkpoint, **extra})
    assert sorted(unused) == ["bert.pooler.dense.weight", "cls.predictions.bias"]
    torch.testing.assert_close(target(ids), source(ids), rtol=0, atol=0)
