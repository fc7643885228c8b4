"""A seeded, shuffling batch iterator over in-memory tensors.

Every training loop in the course draws its batches here. The whole data set is
one tensor, and a batch is one indexing operation (plus one ``torch.bernoulli``
for dynamic binarization), which is several times faster on a CPU than a
``DataLoader`` calling ``transforms.ToTensor()`` per image.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import torch


class Batches:
    """Iterate over ``(images, labels)`` in batches; each ``iter()`` is one epoch.

    Args:
        images: float tensor (N, ...) -- usually a :class:`course_utils.core.data.Split`'s images --
            or stored pixels (uint8) together with ``transform``.
        labels: optional tensor (N,); when None the iterator yields images only.
        batch_size: examples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: a new permutation each epoch (from the seeded generator).
        binarize: draw a fresh Bernoulli sample of each batch (dynamic binarization).
        seed: seeds the permutation and binarization; the same seed gives the same
            sequence of epochs.
        device: where yielded batches live (the data stay where they are).
        transform: applied to each batch of images as it is drawn, before binarization: e.g.
            :meth:`course_utils.core.data.Split.convert`, so that only one batch at a time is
            float32 (:meth:`course_utils.core.data.Split.batches`). An elementwise transform
            gives the same batches as transforming all images first.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None, *,
                 batch_size: int = 128, shuffle: bool = True, binarize: bool = False,
                 drop_last: bool = False, seed: int = 0, device=None,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) differ in length")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.binarize = batch_size, shuffle, binarize
        self.drop_last, self.device, self.transform = drop_last, device, transform
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n, b = len(self.images), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator:
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for i in range(len(self)):
            sl = slice(i * self.batch_size, min((i + 1) * self.batch_size, n))
            idx = order[sl] if order is not None else sl
            x = self.images[idx]
            if self.transform is not None:
                x = self.transform(x)
            if self.binarize:
                # Bernoulli(x) as rand < x: the same distribution, ~3x faster than torch.bernoulli on a CPU
                x = (torch.rand(x.shape, generator=self.generator) < x).to(x.dtype)
            if self.device is not None:
                x = x.to(self.device, non_blocking=True)
            if self.labels is None:
                yield x
            else:
                y = self.labels[idx]
                yield x, (y.to(self.device, non_blocking=True) if self.device is not None else y)
