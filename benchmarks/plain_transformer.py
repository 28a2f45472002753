"""Reference: a hand-written ``torch.nn.Transformer`` training loop.

What a user writes without sktfm to translate: a word-level vocabulary (number
words) or a byte-pair encoding learned with Hugging Face ``tokenizers`` (open
text such as software messages), token embeddings scaled by sqrt(d_model) plus sinusoidal positions,
``torch.nn.Transformer`` (post-norm, as in Vaswani et al., 2017), teacher
forcing with Adam and the paper's warm-up schedule, and batched greedy decoding
that re-runs the decoder over the whole prefix at every step (no KV cache).

Training runs for a wall-clock budget rather than a number of epochs, so that a
benchmark can compare it with :class:`sktfm.Seq2SeqTranslator` at equal
training time: at each budget in ``budgets_s`` it calls ``evaluate``, whose time
is not counted. Nothing runs at import; ``python benchmarks/plain_transformer.py``
runs a short smoke test (under a minute on 2 CPU cores) that prints BLEU
and exact match at each budget; ``--help`` lists its options.
"""

import argparse
import math
import time
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
MAX_NEW_TOKENS = 50  # greedy decoding stops at source length + 50 tokens


def build_vocab(sentences):
    """Map each whitespace-separated word to an id, after the four specials.

    Parameters
    ----------
    sentences : iterable of str
        The training sentences of one side.

    Returns
    -------
    vocab : dict of str to int
        ``<pad>``=0, ``<bos>``=1, ``<eos>``=2, ``<unk>``=3, then the words in
        sorted order.

    Examples
    --------
    >>> build_vocab(["vingt et un", "un"])
    {'<pad>': 0, '<bos>': 1, '<eos>': 2, '<unk>': 3, 'et': 4, 'un': 5, 'vingt': 6}
    """
    words = sorted({word for sentence in sentences for word in sentence.split()})
    return {token: i for i, token in enumerate([*SPECIALS, *words])}


def encode(sentence, vocab, *, add_bos=False):
    """Token ids of ``sentence`` followed by ``<eos>`` (``<unk>`` for new words)."""
    ids = [vocab.get(word, UNK) for word in sentence.split()] + [EOS]
    return torch.tensor([BOS, *ids] if add_bos else ids, dtype=torch.long)


class WordCodec:
    """Whitespace words to ids and back (:func:`build_vocab`, :func:`encode`)."""

    def __init__(self, sentences):
        self.vocab = build_vocab(sentences)
        self.words = list(self.vocab)

    def __len__(self):
        return len(self.vocab)

    def encode(self, sentence, *, add_bos=False):
        return encode(sentence, self.vocab, add_bos=add_bos)

    def decode(self, ids):
        return " ".join(self.words[i] for i in ids)


class BpeCodec:
    """Byte-pair encoding of one side, learned with Hugging Face ``tokenizers``.

    What its documentation's quick tour builds: a BPE model over
    ``Metaspace`` pre-tokens (spaces kept as ``▁``, so decoding restores
    the text), with the four specials first so that their ids match
    :data:`PAD`, :data:`BOS`, :data:`EOS` and :data:`UNK`.
    """

    def __init__(self, sentences, vocab_size=8000):
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        self.tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
        self.tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        self.tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS))
        self.tokenizer.train_from_iterator(sentences, trainer)

    def __len__(self):
        return self.tokenizer.get_vocab_size()

    def encode(self, sentence, *, add_bos=False):
        ids = [*self.tokenizer.encode(sentence).ids, EOS]
        return torch.tensor([BOS, *ids] if add_bos else ids, dtype=torch.long)

    def decode(self, ids):
        return self.tokenizer.decode(ids)


CODECS = {"word": WordCodec, "bpe": BpeCodec}


def sinusoidal_positions(max_len, d_model):
    """The paper's fixed positional encodings, shape ``(max_len, d_model)``."""
    position = torch.arange(max_len).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class PlainTranslator(nn.Module):
    """Embeddings, ``torch.nn.Transformer`` and an output projection.

    Parameters
    ----------
    n_src_tokens, n_tgt_tokens : int
        Vocabulary sizes of the source and target sides.
    d_model, n_heads, n_encoder_layers, n_decoder_layers, dim_feedforward, dropout
        Passed to ``torch.nn.Transformer``; the defaults are the benchmark's.
    max_len : int, default=1024
        Longest sequence the positional table covers.
    """

    def __init__(
        self,
        n_src_tokens,
        n_tgt_tokens,
        *,
        d_model=128,
        n_heads=4,
        n_encoder_layers=3,
        n_decoder_layers=3,
        dim_feedforward=512,
        dropout=0.1,
        max_len=1024,
    ):
        super().__init__()
        self.d_model = d_model
        self.src_embedding = nn.Embedding(n_src_tokens, d_model, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(n_tgt_tokens, d_model, padding_idx=PAD)
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.transformer = nn.Transformer(
            d_model=d_model,
            nhead=n_heads,
            num_encoder_layers=n_encoder_layers,
            num_decoder_layers=n_decoder_layers,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            batch_first=True,
        )
        self.output = nn.Linear(d_model, n_tgt_tokens)

    def _embed(self, embedding, ids):
        # (B, T) -> (B, T, d_model)
        x = embedding(ids) * math.sqrt(self.d_model)
        return self.dropout(x + self.positions[: ids.shape[1]])

    def encode(self, src):
        """Encoder states ``(B, S, d_model)`` of source ids ``(B, S)``."""
        return self.transformer.encoder(
            self._embed(self.src_embedding, src), src_key_padding_mask=src == PAD
        )

    def decode(self, tgt, memory, src_padding):
        """Next-token logits ``(B, T, n_tgt_tokens)`` for target prefixes ``(B, T)``."""
        causal = torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool, device=tgt.device).triu(1)
        states = self.transformer.decoder(
            self._embed(self.tgt_embedding, tgt),
            memory,
            tgt_mask=causal,
            tgt_key_padding_mask=tgt == PAD,
            memory_key_padding_mask=src_padding,
            tgt_is_causal=True,
        )
        return self.output(states)

    def forward(self, src, tgt):
        """Teacher-forced logits: ``src`` ``(B, S)``, ``tgt`` ``(B, T)`` -> ``(B, T, V)``."""
        return self.decode(tgt, self.encode(src), src == PAD)


def _pad(sequences, device):
    return pad_sequence(sequences, batch_first=True, padding_value=PAD).to(device)


@torch.no_grad()
def greedy_translate(model, sources, src_codec, tgt_codec, *, batch_size=256, device="cpu"):
    """Translate ``sources`` with batched greedy decoding, re-running the decoder.

    Each sentence gets at most its source length + 50 tokens; a batch stops as
    soon as every sentence has emitted ``<eos>``.
    """
    was_training = model.training
    model.eval()
    translations = []
    for start in range(0, len(sources), batch_size):
        encoded = [src_codec.encode(s) for s in sources[start : start + batch_size]]
        src = _pad(encoded, device)
        src_padding = src == PAD
        memory = model.encode(src)
        limits = torch.tensor([len(e) + MAX_NEW_TOKENS for e in encoded], device=device)
        ys = torch.full((len(encoded), 1), BOS, dtype=torch.long, device=device)
        done = torch.zeros(len(encoded), dtype=torch.bool, device=device)
        for step in range(int(limits.max())):
            next_ids = model.decode(ys, memory, src_padding)[:, -1].argmax(-1)
            next_ids = next_ids.masked_fill(done, PAD)
            ys = torch.cat([ys, next_ids.unsqueeze(1)], dim=1)
            done |= (next_ids == EOS) | (step + 1 >= limits)
            if done.all():
                break
        for row in ys[:, 1:].tolist():
            ids = []
            for token in row:
                if token in (EOS, PAD):
                    break
                ids.append(token)
            translations.append(tgt_codec.decode(ids))
    model.train(was_training)
    return translations


def _warmup_schedule(d_model, warmup_steps):
    """The paper's rate, as a factor of a base learning rate of 1."""

    def factor(step):
        step = max(step, 1)
        return d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)

    return factor


def train_plain(
    train_src,
    train_tgt,
    *,
    budgets_s=(120, 240, 360),
    evaluate,
    batch_size=64,
    seed=0,
    warmup_steps=4000,
    tokenizer="word",
    device=None,
    **model_kwargs,
):
    """Train a :class:`PlainTranslator` for wall-clock budgets of training time.

    The training clock starts at the call (vocabularies, encoding and model
    construction count, as they do in an estimator's ``fit``) and stops
    while ``evaluate`` runs. Epochs of shuffled mini-batches continue until
    the last budget is spent; the step that crosses a budget finishes first.

    Parameters
    ----------
    train_src, train_tgt : sequence of str
        Aligned source and target sentences.
    budgets_s : tuple of float, default=(120, 240, 360)
        Training seconds after which to evaluate, increasing.
    evaluate : callable
        ``evaluate(translate, budget_s)``, where ``translate(list of str) ->
        list of str`` decodes greedily with the model as trained so far. Its
        return value is kept in the result.
    batch_size : int, default=64
        Pairs per optimisation step.
    seed : int, default=0
        Seed for ``torch.manual_seed`` (initial weights, dropout, shuffling).
    warmup_steps : int, default=4000
        Warm-up steps of the learning-rate schedule.
    tokenizer : {"word", "bpe"}, default="word"
        :class:`WordCodec` or :class:`BpeCodec` (8,000 tokens), one per side.
    device : str or None, default=None
        Where to train; None picks CUDA when available, else CPU.
    **model_kwargs
        Passed to :class:`PlainTranslator`.

    Returns
    -------
    result : dict
        ``n_pairs`` (training pairs processed), ``train_pairs_per_s`` (per
        second of training time), ``train_s``, ``n_steps``, ``n_epochs``, ``epoch_losses``
        (mean loss of each complete epoch) and ``evaluations`` (budget ->
        what ``evaluate`` returned).
    """
    budgets = sorted(budgets_s)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    clock = _TrainingClock(device)

    src_codec, tgt_codec = CODECS[tokenizer](train_src), CODECS[tokenizer](train_tgt)
    sources = [src_codec.encode(s) for s in train_src]
    targets = [tgt_codec.encode(t, add_bos=True) for t in train_tgt]
    model = PlainTranslator(len(src_codec), len(tgt_codec), **model_kwargs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_schedule(model.d_model, warmup_steps)
    )
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)

    def translate(texts):
        return greedy_translate(model, list(texts), src_codec, tgt_codec, device=device)

    evaluations, epoch_losses = {}, []
    n_pairs = n_steps = n_epochs = 0
    model.train()
    while budgets:
        total_loss, n_batches = 0.0, 0
        order = torch.randperm(len(sources)).tolist()
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            src = _pad([sources[i] for i in batch], device)
            tgt = _pad([targets[i] for i in batch], device)
            logits = model(src, tgt[:, :-1])  # teacher forcing
            loss = criterion(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item()
            n_batches += 1
            n_pairs += len(batch)
            n_steps += 1
            while budgets and clock.elapsed() >= budgets[0]:
                budget = budgets.pop(0)
                clock.pause()
                evaluations[budget] = evaluate(translate, budget)
                model.train()
                clock.resume()
            if not budgets:
                break
        else:
            n_epochs += 1
            epoch_losses.append(total_loss / n_batches)
    train_s = clock.elapsed()
    return {
        "n_pairs": n_pairs,
        "train_pairs_per_s": n_pairs / train_s,
        "train_s": train_s,
        "n_steps": n_steps,
        "n_epochs": n_epochs,
        "epoch_losses": epoch_losses,
        "evaluations": evaluations,
    }


class _TrainingClock:
    """Wall-clock seconds of training, with evaluation paused out."""

    def __init__(self, device):
        self._cuda = str(device).startswith("cuda")
        self._start = time.perf_counter()
        self._paused_at = None
        self._paused_s = 0.0

    def _sync(self):
        if self._cuda:
            torch.cuda.synchronize()

    def elapsed(self):
        self._sync()
        return time.perf_counter() - self._start - self._paused_s

    def pause(self):
        self._sync()
        self._paused_at = time.perf_counter()

    def resume(self):
        self._paused_s += time.perf_counter() - self._paused_at


def main(argv=None):
    """Smoke test: train briefly on number words and print the scores."""
    from sklearn.model_selection import train_test_split

    from sktfm.datasets import make_number_translation
    from sktfm.metrics import bleu_score, exact_match_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--budgets", type=float, nargs="+", default=[10, 20])
    # The paper's 4000 warm-up steps outlast a 20 s CPU smoke test many times
    # over; 300 lets the rate peak within it.
    parser.add_argument("--warmup-steps", type=int, default=300)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors")

    X, y = make_number_translation(args.n_samples, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.1, random_state=0)

    def evaluate(translate, budget_s):
        start = time.perf_counter()
        predictions = translate(list(X_test))
        scores = {
            "bleu": bleu_score(y_test, predictions),
            "exact_match": exact_match_score(y_test, predictions),
        }
        print(
            f"after {budget_s:5.0f} s of training: BLEU {scores['bleu']:5.1f}  "
            f"exact match {scores['exact_match']:.3f}  "
            f"({time.perf_counter() - start:.1f} s to translate {len(X_test)})"
        )
        print(f"  {X_test[0]!r} -> {predictions[0]!r} (reference {y_test[0]!r})")
        return scores

    print(
        f"plain torch.nn.Transformer, {len(X_train)} training pairs, "
        f"{torch.get_num_threads()} threads"
    )
    result = train_plain(
        list(X_train),
        list(y_train),
        budgets_s=tuple(args.budgets),
        evaluate=evaluate,
        warmup_steps=args.warmup_steps,
    )
    print(
        f"{result['n_pairs']} pairs in {result['train_s']:.1f} s of training "
        f"({result['train_pairs_per_s']:.0f} pairs/s, {result['n_steps']} steps, "
        f"{result['n_epochs']} full epochs)"
    )
    return result


if __name__ == "__main__":
    main()
