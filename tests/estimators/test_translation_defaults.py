"""Seq2SeqTranslator's defaults for open-vocabulary text: shared vocabulary and schedule."""

import numpy as np
import pytest

from sktfm import Seq2SeqTranslator

TINY = dict(
    d_model=16,
    n_heads=2,
    n_layers=1,
    dim_feedforward=32,
    max_epochs=3,
    batch_size=8,
    warmup_steps=2,
    vocab_size=60,
    device="cpu",
    random_state=0,
)
ENGLISH = ["open the file", "save the file", "close the window", "open a window"] * 6
GERMAN = ["die Datei öffnen", "die Datei speichern", "das Fenster schließen", "ein Fenster öffnen"]
RUSSIAN = ["открыть файл", "сохранить файл", "закрыть окно", "открыть окно"]


@pytest.mark.parametrize("targets, shared", [(GERMAN * 6, True), (RUSSIAN * 6, False)])
def test_auto_shares_the_vocabulary_between_sides_in_one_script(targets, shared):
    model = Seq2SeqTranslator(**TINY).fit(ENGLISH, targets)
    assert model.share_vocab_ is shared
    assert (model.source_tokenizer_ is model.target_tokenizer_) is shared
    module = model.module_
    assert (module.src_embedding is module.tgt_embedding) is shared
    # Shared or not, the model translates with it.
    assert model.predict(ENGLISH[:2]).shape == (2,)


def test_auto_does_not_share_between_two_tokenizer_kinds():
    model = Seq2SeqTranslator(**TINY, tokenizer=("char", "bpe")).fit(ENGLISH, GERMAN * 6)
    assert model.share_vocab_ is False
    with pytest.raises(ValueError, match="share_vocab=True needs one tokenizer"):
        Seq2SeqTranslator(**TINY, tokenizer=("char", "bpe"), share_vocab=True).fit(
            ENGLISH, GERMAN * 6
        )


def test_explicit_share_vocab_is_kept_whatever_the_scripts():
    model = Seq2SeqTranslator(**TINY, share_vocab=True).fit(ENGLISH, RUSSIAN * 6)
    assert model.share_vocab_ is True and model.source_tokenizer_ is model.target_tokenizer_
    model = Seq2SeqTranslator(**TINY, share_vocab=False).fit(ENGLISH, GERMAN * 6)
    assert model.share_vocab_ is False


def _batch_lrs(model):
    return np.array([batch["event_lr"] for epoch in model.history_ for batch in epoch["batches"]])


def test_linear_schedule_warms_up_then_decays_to_zero_at_the_last_step():
    model = Seq2SeqTranslator(**TINY, lr=1e-2).fit(ENGLISH, GERMAN * 6)
    lrs = _batch_lrs(model)
    assert len(lrs) == 3 * 3  # 24 pairs in batches of 8, three epochs
    assert lrs[0] == pytest.approx(0.5e-2) and lrs[1] == pytest.approx(1e-2)  # warm-up
    assert np.all(np.diff(lrs[1:]) < 0)  # then a steady decay ...
    assert lrs[-1] < 0.2e-2  # ... that nearly reaches 0 at the last step


def test_inverse_sqrt_schedule_keeps_the_papers_decay():
    model = Seq2SeqTranslator(**TINY, lr=1e-2, lr_schedule="inverse_sqrt").fit(ENGLISH, GERMAN * 6)
    lrs = _batch_lrs(model)
    assert lrs[1] == pytest.approx(1e-2)
    assert lrs[-1] == pytest.approx(1e-2 * (2 / 9) ** 0.5, rel=0.2)


def test_a_warm_started_fit_gets_its_own_decay_and_time_budget(fake_clock):
    clock = fake_clock(1 / 1024)  # the fits themselves take almost none of max_time
    model = Seq2SeqTranslator(**TINY, lr=1e-2, warm_start=True, max_time=3.0)
    model.fit(ENGLISH, GERMAN * 6)
    first = len(_batch_lrs(model))
    assert len(model.history_) == 3 and clock.now < 3.0  # the whole first fit, in time
    clock.sleep(3.1)  # the first fit's deadline has passed
    model.fit(ENGLISH, GERMAN * 6)
    assert len(model.history_) == 6  # three more epochs, not one batch
    resumed = _batch_lrs(model)[first:]
    # From near the peak down to about 0 again, not stuck at the first fit's end (0).
    assert resumed[0] > 0.8e-2 and np.all(np.diff(resumed) < 0) and resumed[-1] < 0.2e-2
