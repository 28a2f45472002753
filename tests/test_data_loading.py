"""Padding and length-bucketed training batches."""

import numpy as np
import torch

from sktfm.data import (
    BucketBatchSampler,
    SequenceDataset,
    collate,
    pad_sequences,
    training_loader,
)


def _ragged(n, seed=0, high=60):
    rng = np.random.RandomState(seed)
    return [rng.randint(1, 100, size=rng.randint(0, high)).astype(np.int64) for _ in range(n)]


def test_pad_sequences_matches_row_by_row_padding():
    sequences = _ragged(50) + [np.array([], dtype=np.int64)]
    padded = pad_sequences(sequences).numpy()
    assert padded.shape == (51, max(map(len, sequences)))
    for row, seq in zip(padded, sequences):
        np.testing.assert_array_equal(row[: len(seq)], seq)
        assert (row[len(seq) :] == 0).all()
    assert pad_sequences([[], []]).shape == (2, 0)


def test_bucketed_epochs_visit_every_sample_once_with_little_padding():
    lengths = np.array([len(s) for s in _ragged(1000)])
    sampler = BucketBatchSampler(lengths, batch_size=32)
    torch.manual_seed(0)
    first = list(sampler)
    second = list(sampler)
    for epoch in (first, second):
        assert sorted(i for batch in epoch for i in batch) == list(range(1000))
        assert max(map(len, epoch)) <= 32 and len(epoch) == len(sampler)
    assert first != second  # reshuffled every epoch

    def padding(batches):
        return sum(len(b) * lengths[b].max() - lengths[b].sum() for b in map(np.array, batches))

    random_batches = np.array_split(np.random.RandomState(0).permutation(1000), 32)
    assert padding(first) < 0.2 * padding(random_batches)


def test_bucketed_batches_follow_torch_seed():
    sampler = BucketBatchSampler(np.arange(200) % 17, batch_size=16)
    torch.manual_seed(3)
    a = list(sampler)
    torch.manual_seed(3)
    assert list(sampler) == a


def test_training_loader_buckets_only_shuffled_variable_length_data():
    ragged = SequenceDataset(_ragged(100), np.arange(100))
    fixed = SequenceDataset(np.random.randn(100, 4).astype(np.float32), np.arange(100))
    assert isinstance(
        training_loader(ragged, batch_size=8, shuffle=True, collate_fn=collate).batch_sampler,
        BucketBatchSampler,
    )
    assert not isinstance(
        training_loader(fixed, batch_size=8, shuffle=True).batch_sampler, BucketBatchSampler
    )
    assert not isinstance(
        training_loader(ragged, batch_size=8, shuffle=False).batch_sampler, BucketBatchSampler
    )
    seen = [y for _, y in training_loader(ragged, batch_size=8, shuffle=True, collate_fn=collate)]
    assert sorted(torch.cat(seen).tolist()) == list(range(100))
