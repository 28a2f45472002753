"""Benchmark: greedy generation, sktfm's KV cache vs no cache vs Hugging Face ``generate``.

A randomly initialised encoder-decoder of the translator's size (d_model 256,
4 heads, 3 + 3 layers, feed-forward 1024, vocab 8000), batch 32, source length
32, 64 generated tokens per sentence (end-of-sentence made unreachable so that
every system generates exactly 64). Hugging Face's is a ``BartForConditionalGeneration``
of the same sizes (``transformers`` is a benchmark-only dependency), run with
``generate(num_beams=1, do_sample=False, min_new_tokens=64, max_new_tokens=64)``.
Repetitions alternate after a warm-up; medians and spreads are reported, and
each ratio is the median of the ratios within one repetition (the host's
speed drifts; back-to-back runs share its state); the cached and uncached
sktfm paths must produce the same tokens. Records its
section of benchmarks/RESULTS.md (earlier runs: benchmarks/history/).

    python benchmarks/decode.py
"""

import os
import platform
import time

import numpy as np
import torch
from _results import paired_ratio, record_section

from sktfm.nn import Seq2Seq

VOCAB, D, HEADS, LAYERS, FF = 8000, 256, 4, 3, 1024
BATCH, SOURCE_LEN, NEW_TOKENS = 32, 32, 64
REPEATS = 9


def sktfm_model():
    torch.manual_seed(0)
    model = Seq2Seq(
        src_vocab_size=VOCAB,
        tgt_vocab_size=VOCAB,
        d_model=D,
        n_heads=HEADS,
        n_encoder_layers=LAYERS,
        n_decoder_layers=LAYERS,
        dim_feedforward=FF,
        max_len=128,
    ).eval()
    model.eos_id = model.padding_idx  # padding is never generated: EOS never comes
    return model


def hf_model():
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        vocab_size=VOCAB,
        d_model=D,
        encoder_layers=LAYERS,
        decoder_layers=LAYERS,
        encoder_attention_heads=HEADS,
        decoder_attention_heads=HEADS,
        encoder_ffn_dim=FF,
        decoder_ffn_dim=FF,
        max_position_embeddings=256,
        pad_token_id=0,
        bos_token_id=5,
        eos_token_id=6,
        decoder_start_token_id=5,
        forced_eos_token_id=None,
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    return BartForConditionalGeneration(config).eval()


def main():
    src = torch.randint(7, VOCAB, (BATCH, SOURCE_LEN))
    ours, theirs = sktfm_model(), hf_model()
    mask = torch.ones_like(src)
    systems = {
        "sktfm Seq2Seq.generate, KV cache": lambda: ours.generate(
            src, max_output_len=NEW_TOKENS, use_cache=True
        ),
        "sktfm, no cache": lambda: ours.generate(src, max_output_len=NEW_TOKENS, use_cache=False),
        "Hugging Face generate (Bart, KV cache)": lambda: theirs.generate(
            input_ids=src,
            attention_mask=mask,
            num_beams=1,
            do_sample=False,
            min_new_tokens=NEW_TOKENS,
            max_new_tokens=NEW_TOKENS,
        ),
    }
    outputs = {}
    times = {name: [] for name in systems}
    for repeat in range(REPEATS + 1):
        for name, run in systems.items():
            start = time.perf_counter()
            with torch.inference_mode():
                outputs[name] = run()
            if repeat:
                times[name].append(time.perf_counter() - start)
    cached = outputs["sktfm Seq2Seq.generate, KV cache"]
    assert all(len(ids) == NEW_TOKENS for ids in cached)
    same_tokens = cached == outputs["sktfm, no cache"]
    assert outputs["Hugging Face generate (Bart, KV cache)"].shape[1] >= NEW_TOKENS
    median = {name: float(np.median(t)) for name, t in times.items()}
    spread = {name: float(np.ptp(t)) for name, t in times.items()}
    cached_times = times["sktfm Seq2Seq.generate, KV cache"]
    ratio = {name: paired_ratio(t, cached_times) for name, t in times.items()}
    for name in systems:
        print(f"{name}: {median[name]:.2f} s (spread {spread[name]:.2f})")
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, {torch.get_num_threads()} "
        f"torch threads, torch {torch.__version__}"
    )
    lines = [
        "## Greedy decoding: KV cache vs no cache vs Hugging Face generate",
        "",
        f"Machine: {machine}. `benchmarks/decode.py`: random encoder-decoder, d_model {D}, "
        f"{HEADS} heads, {LAYERS}+{LAYERS} layers, feed-forward {FF}, vocab {VOCAB}; batch "
        f"{BATCH}, source length {SOURCE_LEN}, {NEW_TOKENS} new tokens each; median of "
        f'{REPEATS} alternating repetitions after a warm-up; "sktfm cached is": median of '
        "the within-repetition time ratios.",
        "",
        "| system | median (s) | spread (s) | tokens/s | sktfm cached is |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {median[name]:.2f} | {spread[name]:.2f} | "
            f"{BATCH * NEW_TOKENS / median[name]:,.0f} | {ratio[name]:.2f}x faster |"
            for name in systems
        ),
        "",
        f"KV cache {ratio['sktfm, no cache']:.1f}x the uncached path (target >= 6x), "
        f"same tokens: {same_tokens}; "
        f"{ratio['Hugging Face generate (Bart, KV cache)']:.2f}x Hugging Face generate "
        "(target >= 1.3x).",
        "",
    ]
    record_section("decode", lines)


if __name__ == "__main__":
    main()
