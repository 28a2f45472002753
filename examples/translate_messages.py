"""Translate real software messages from English into German
=========================================================

The pairs are the human translations that ship with the programs installed
on this machine: the gettext catalogs under ``/usr/share/locale``
(:func:`sktfm.datasets.load_gettext_pairs`; nothing is downloaded). Messages
carry printf and brace placeholders (``%s``, ``%1$d``, ``{name}``) that a
translation must keep exactly, or the program crashes: the translator's
``protected_tokens="auto"`` turns them into sentinel tokens, constrains
decoding to emit each as often as the source has it, and puts them back.

The model trains for $SKTFM_EXAMPLE_SECONDS (default 120) seconds of a
2-core CPU, so its German is rough; ``benchmarks/translation_real.py``
trains for 10 minutes. A few test messages with placeholders are
translated, and, when matplotlib is installed, the cross-attention of one
of them is saved as a PNG (in $SKTFM_PLOT_DIR, default the current folder).
"""

# %%
import os
import time
from pathlib import Path

from sktfm import Seq2SeqTranslator
from sktfm.datasets import load_gettext_pairs
from sktfm.metrics import chrf_score, copy_rate, placeholder_fidelity
from sktfm.text.placeholders import find_placeholders
from sktfm.text.protection import SpanProtector

# %%
# Data: the system's German catalogs, split by a hash of the English text.
X_train, X_test, y_train, y_test = load_gettext_pairs("de")
print(f"{len(X_train)} training and {len(X_test)} test messages")

# %%
# Fit with the defaults, for a fixed time.
seconds = float(os.environ.get("SKTFM_EXAMPLE_SECONDS", "120"))
model = Seq2SeqTranslator(max_time=seconds, random_state=0)
start = time.perf_counter()
model.fit(X_train, y_train)
print(f"fit for {time.perf_counter() - start:.0f} s ({model.n_iter_} epoch(s) begun)")
print(f"protected: {model.protected_tokens_}")

# %%
# Translate the test messages that have placeholders, and score them.
with_placeholders = [i for i, text in enumerate(X_test) if find_placeholders(text)][:200]
sources = [X_test[i] for i in with_placeholders]
references = [y_test[i] for i in with_placeholders]
predictions = list(model.predict(sources))
print(
    f"{len(sources)} messages with placeholders: chrF {chrf_score(references, predictions):.1f}, "
    f"placeholders kept in {placeholder_fidelity(sources, predictions):.0%}, "
    f"identifiers copied {copy_rate(sources, references, predictions):.0%}"
)
for source, guess, reference in list(zip(sources, predictions, references))[:6]:
    print(f"  {source!r}\n    -> {guess!r}\n    (reference {reference!r})")

# %%
# Cross-attention of the last decoder layer, averaged over heads: which
# source tokens each German token looked at. The model sees each placeholder
# as one sentinel token; the labels show the placeholder it stands for.
try:
    import matplotlib

    matplotlib.use("Agg")
    from sktfm.plotting import plot_attention
except ImportError:
    print("matplotlib is not installed: no attention plot")
else:
    plot_dir = Path(os.environ.get("SKTFM_PLOT_DIR", "."))
    source, guess = min(zip(sources, predictions), key=lambda pair: abs(len(pair[0]) - 40))
    weights = model.attention_weights([source], [guess])[0]
    protector = SpanProtector(model.protected_tokens_)
    protected_source, spans = protector.protect(source)
    protected_guess = protector.protect_target(guess, spans)
    src_tokens = model.source_tokenizer_.tokenizer_.encode(protected_source).tokens
    tgt_tokens = ["[BOS]"] + model.target_tokenizer_.tokenizer_.encode(protected_guess).tokens
    src_tokens = [protector.restore(token, spans) for token in src_tokens]
    tgt_tokens = [protector.restore(token, spans) for token in tgt_tokens]
    ax = plot_attention(weights, x_labels=src_tokens, y_labels=tgt_tokens)
    ax.set_title(f"cross-attention, {ax.get_title()}")
    ax.figure.tight_layout()
    ax.figure.savefig(plot_dir / "translate_messages_attention.png", dpi=120)
    print(f"attention map saved to {plot_dir / 'translate_messages_attention.png'}")
