"""The sections of an estimator's parameters: input, architecture, text, series ...

Signatures and docstrings list the parameters section by section; the
documentation site shows each section's title as a heading over its
parameters (``docs/conf.py``).
"""

__all__ = ["SECTIONS", "in_sections", "section_of"]

#: What each parameter is about: the headed sections of the docstrings (on the
#: documentation site), in signature order. A parameter no section names (a
#: subclass's own) comes last, under "Other".
SECTIONS = {
    "Imputation": ("missing_values", "add_indicator"),
    "Input": ("input_type", "truncation"),
    "Architecture": (
        "d_model",
        "n_heads",
        "n_layers",
        "n_encoder_layers",
        "n_decoder_layers",
        "dim_feedforward",
        "dropout",
        "attention_dropout",
        "activation",
        "norm_first",
        "positional",
        "max_len",
        "pooling",
        "tie_embeddings",
    ),
    "Text": (
        "tokenizer",
        "vocab_size",
        "share_vocab",
        "protected_tokens",
        "pretrained",
        "embedding_init",
    ),
    "Tables": ("categorical_features", "text_features", "min_frequency", "numeric_embedding"),
    "Series": ("sequence_layout", "patch_size", "patch_stride", "series_scaling"),
    "Training": (
        "max_epochs",
        "batch_size",
        "lr",
        "lr_schedule",
        "weight_decay",
        "warmup_steps",
        "label_smoothing",
        "class_weight",
        "ema_decay",
        "ensemble_size",
        "grad_clip",
        "early_stopping",
        "validation_fraction",
        "patience",
        "max_time",
        "random_state",
        "verbose",
        "callbacks",
        "checkpoint_dir",
        "warm_start",
    ),
    "Generation": ("beam_size", "max_output_len", "length_penalty"),
    "Scale-out": ("device", "precision", "compile", "strategy", "n_processes"),
}


def section_of(name):
    """The heading of :data:`SECTIONS` under which the parameter ``name`` is listed."""
    return next((title for title, names in SECTIONS.items() if name in names), "Other")


def in_sections(parameters):
    """``parameters`` in signature order: by section, then in :data:`SECTIONS`' order."""
    order = {name: k for k, name in enumerate(n for names in SECTIONS.values() for n in names)}
    return dict(sorted(parameters.items(), key=lambda item: order.get(item[0], len(order))))
