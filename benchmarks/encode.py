"""Benchmark: encoder inference, sktfm vs torch's fast path vs Hugging Face BertModel.

Reference size: d_model 256, 4 heads, 4 layers, feed-forward 1024, vocab 8000,
batch 64, N_SEQUENCES sequences; (a) every sequence 128 tokens, (b) lengths
uniform in 8-128. Systems, timed in one process on the same lengths:

- sktfm ``TransformerEncoder.transform`` (pre-norm, sorts by length itself),
  also with its forward through ``torch.compile`` (``compile=True``; the
  warm-up pass absorbs compilation);
- ``torch.nn.TransformerEncoder`` in eval + inference mode (its fast path;
  nested tensors for padded batches), in input order and bucketed;
- Hugging Face ``BertModel`` with SDPA attention, random weights from a config
  (``transformers`` is a benchmark-only dependency), in input order and
  bucketed.

Repetitions alternate between systems after a warm-up; medians and spreads
are reported, and each ratio to sktfm is the median of the ratios within one
repetition (the host's speed drifts; back-to-back runs share its state). (a)
is also given in GFLOP/s against a float32 matmul ceiling measured here, and,
where the CPU computes bfloat16 natively, sktfm runs once more with
``precision="bf16"`` (output checked against float32; emulated bfloat16 is
slower than float32 and is skipped). Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/encode.py
"""

import os
import platform
import time

import numpy as np
import torch
from _results import paired_ratio, record_section
from torch import nn

from sktfm import TransformerEncoder
from sktfm.training.runtime import cpu_has_native_bf16

D, HEADS, LAYERS, FF, VOCAB, BATCH = 256, 4, 4, 1024, 8000, 64
N_SEQUENCES = 384
REPEATS = 5


#: The reference TransformerEncoder (benchmarks/onnx_serving.py serves the same one).
REFERENCE_OPTIONS = dict(
    input_type="tokens",
    d_model=D,
    n_heads=HEADS,
    n_layers=LAYERS,
    dim_feedforward=FF,
    vocab_size=VOCAB + 7,
    max_len=128,
    batch_size=BATCH,
    max_epochs=1,
    device="cpu",
    random_state=0,
)
WORDS = np.array([f"w{i}" for i in range(VOCAB)], dtype=object)


def reference_fit_tokens(rng):
    """64 sequences of 128 random words, and the whole vocabulary once: one epoch's data."""
    fit_tokens = [list(WORDS[rng.randint(0, VOCAB, size=128)]) for _ in range(64)]
    fit_tokens.append(list(WORDS))
    return fit_tokens


def matmul_ceiling(dtype=torch.float32, size=1024, repeats=20):
    """Median GFLOP/s of a square matmul: what this machine's GEMM reaches."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    for _ in range(3):
        a @ b
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        rates.append(2 * size**3 / (time.perf_counter() - start) / 1e9)
    return float(np.median(rates))


def encoder_flops(lengths):
    """Multiply-adds x 2 of the encoder layers over sequences of ``lengths``."""
    lengths = np.asarray(lengths, dtype=np.float64)
    per_token = LAYERS * (8 * D * D + 4 * D * FF)
    return float((lengths * per_token + LAYERS * 4 * D * lengths**2).sum())


def batches(ids, bucketed):
    order = np.argsort([len(x) for x in ids], kind="stable") if bucketed else np.arange(len(ids))
    for start in range(0, len(ids), BATCH):
        chunk = [ids[i] for i in order[start : start + BATCH]]
        width = max(len(x) for x in chunk)
        padded = torch.zeros(len(chunk), width, dtype=torch.long)
        for row, x in enumerate(chunk):
            padded[row, : len(x)] = torch.as_tensor(x)
        yield padded


class TorchFastPath(nn.Module):
    """Embedding + ``nn.TransformerEncoder`` + mean pooling.

    Post-norm: torch's nested-tensor path (padding skipped) requires it. The
    work per token is the same as pre-norm's.
    """

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        layer = nn.TransformerEncoderLayer(
            D, HEADS, FF, dropout=0.1, activation="gelu", batch_first=True, norm_first=False
        )
        self.encoder = nn.TransformerEncoder(
            layer, LAYERS, norm=nn.LayerNorm(D), enable_nested_tensor=True
        )

    def forward(self, ids):
        padding = ids == 0
        states = self.encoder(self.embedding(ids), src_key_padding_mask=padding)
        if states.is_nested:
            states = states.to_padded_tensor(0.0, ids.shape + (D,))
        keep = (~padding).unsqueeze(-1).to(states.dtype)
        return (states * keep).sum(1) / keep.sum(1).clamp(min=1)


def hf_bert():
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=D,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FF,
        max_position_embeddings=512,
        attn_implementation="sdpa",
    )
    model = BertModel(config, add_pooling_layer=False).eval()

    def run(ids):
        mask = (ids != 0).long()
        states = model(input_ids=ids, attention_mask=mask).last_hidden_state
        keep = mask.unsqueeze(-1).to(states.dtype)
        return (states * keep).sum(1) / keep.sum(1)

    return run


def time_modules(systems, repeats=REPEATS):
    """Seconds of each system in each of ``repeats`` interleaved repetitions (after a warm-up)."""
    times = {name: [] for name in systems}
    for repeat in range(repeats + 1):
        for name, run in systems.items():
            start = time.perf_counter()
            with torch.inference_mode():
                run()
            if repeat:  # the first pass warms up
                times[name].append(time.perf_counter() - start)
    return {name: np.asarray(t) for name, t in times.items()}


def main():
    rng = np.random.RandomState(0)
    fixed = [rng.randint(7, VOCAB, size=128) for _ in range(N_SEQUENCES)]
    variable = [rng.randint(7, VOCAB, size=rng.randint(8, 129)) for _ in range(N_SEQUENCES)]

    fit_tokens = reference_fit_tokens(rng)
    options = REFERENCE_OPTIONS
    ours = TransformerEncoder(**options).fit(fit_tokens)
    ours_compiled = TransformerEncoder(**options).fit(fit_tokens)
    ours_compiled.net_.compiled = True  # the same weights, forward through torch.compile
    native_bf16 = cpu_has_native_bf16()
    ours_bf16 = (
        TransformerEncoder(**options, precision="bf16").fit(fit_tokens) if native_bf16 else None
    )
    vocab = ours.tokenizer_.vocabulary_

    def as_tokens(ids):
        # Words whose sktfm ids are the same numbers, so every system reads the same data.
        inverse = {token_id: token for token, token_id in vocab.items()}
        return [[inverse.get(int(i), "w0") for i in x] for x in ids]

    torch_model = TorchFastPath().eval()
    bert = hf_bert()
    results = {}
    for case, ids in (("fixed 128", fixed), ("variable 8-128", variable)):
        tokens = as_tokens(ids)
        systems = {
            "sktfm TransformerEncoder.transform": lambda t=tokens: ours.transform(t),
            "torch nn.TransformerEncoder fast path": lambda ids=ids: [
                torch_model(b) for b in batches(ids, False)
            ],
            "torch fast path, bucketed": lambda ids=ids: [
                torch_model(b) for b in batches(ids, True)
            ],
            "HF BertModel (sdpa)": lambda ids=ids: [bert(b) for b in batches(ids, False)],
            "HF BertModel (sdpa), bucketed": lambda ids=ids: [bert(b) for b in batches(ids, True)],
            "sktfm, compile=True": lambda t=tokens: ours_compiled.transform(t),
        }
        if native_bf16:
            systems["sktfm, precision=bf16"] = lambda t=tokens: ours_bf16.transform(t)
            a = ours.transform(tokens[:64])
            b = ours_bf16.transform(tokens[:64])
            results[case + " bf16 error"] = float(np.abs(a - b).max() / np.abs(a).max())
        results[case] = time_modules(systems)
        for name, t in results[case].items():
            print(f"{case}: {name}: {np.median(t):.2f} s (spread {np.ptp(t):.2f})")

    ceiling = matmul_ceiling()
    ceiling_bf16 = matmul_ceiling(torch.bfloat16) if native_bf16 else None
    flops = encoder_flops([129] * N_SEQUENCES)  # sktfm's [CLS] makes 129 positions
    ours_name = "sktfm TransformerEncoder.transform"
    achieved = flops / float(np.median(results["fixed 128"][ours_name])) / 1e9

    machine = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, "
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}"
    )
    lines = [
        "## Encoder inference: sktfm vs torch fast path vs HF BertModel",
        "",
        f"Machine: {machine}. `benchmarks/encode.py`: d_model {D}, {HEADS} heads, {LAYERS} layers, "
        f"feed-forward {FF}, vocab {VOCAB}, batch {BATCH}, {N_SEQUENCES} sequences; median of "
        f'{REPEATS} interleaved repetitions after a warm-up (spread in brackets); "vs sktfm" '
        "is the median over repetitions of the time relative to sktfm's in the same "
        "repetition.",
        "",
        "| system | fixed 128: s | vs sktfm | variable 8-128: s | vs sktfm |",
        "|---|---|---|---|---|",
    ]
    ratio = {
        case: {
            name: paired_ratio(times, results[case][ours_name])
            for name, times in results[case].items()
        }
        for case in ("fixed 128", "variable 8-128")
    }
    for name in results["fixed 128"]:
        fixed_t, var_t = results["fixed 128"][name], results["variable 8-128"][name]
        lines.append(
            f"| {name} | {np.median(fixed_t):.2f} ({np.ptp(fixed_t):.2f}) | "
            f"{ratio['fixed 128'][name]:.2f}x | {np.median(var_t):.2f} "
            f"({np.ptp(var_t):.2f}) | {ratio['variable 8-128'][name]:.2f}x |"
        )
    best_fixed = min(r for k, r in ratio["fixed 128"].items() if not k.startswith("sktfm"))
    best_var = min(r for k, r in ratio["variable 8-128"].items() if not k.startswith("sktfm"))
    hf_var = ratio["variable 8-128"]["HF BertModel (sdpa)"]
    lines += [
        "",
        '("vs sktfm": time relative to sktfm\'s float32 transform; above 1 is slower.)',
        "",
        f"- Fixed length: sktfm {best_fixed:.2f}x the best alternative; "
        f"{achieved:.0f} GFLOP/s = {achieved / ceiling:.0%} of the float32 matmul ceiling "
        f"({ceiling:.0f} GFLOP/s"
        + (f"; bf16 ceiling {ceiling_bf16:.0f})." if native_bf16 else ")."),
        (
            f"- bf16: {1 / ratio['fixed 128']['sktfm, precision=bf16']:.2f}x "
            f"sktfm's float32 at fixed length, relative max error "
            f"{results['fixed 128 bf16 error']:.1e}."
            if native_bf16
            else "- bf16: not timed, this CPU has no native bfloat16 (emulated bfloat16 is slower "
            "than float32; sktfm warns when asked for it here)."
        ),
        f"- Variable lengths: sktfm {hf_var:.2f}x HF BertModel used unbucketed, "
        f"{best_var:.2f}x the best alternative.",
        "",
    ]
    record_section("encode", lines)


if __name__ == "__main__":
    main()
