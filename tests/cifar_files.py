"""Tiny CIFAR folders in the official layout (protocol-2 pickles, bytes keys)."""
import os
import pickle

import numpy as np


def _dump(path, obj, protocol=2):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def _images(rng, labels):
    """Images whose class shows as a brighter patch, so that a network can learn it."""
    data = rng.integers(0, 120, (len(labels), 3, 32, 32), dtype=np.uint8)
    for i, k in enumerate(labels):
        row, col = divmod(int(k) % 16, 4)
        data[i, :, row * 8:row * 8 + 8, col * 8:col * 8 + 8] += 120
    return data.reshape(len(labels), 3072)


def write_cifar10(root, per_batch=20, test=40, seed=0):
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    for i in range(1, 6):
        labels = [int(k) for k in np.arange(per_batch) % 10]
        _dump(os.path.join(folder, f"data_batch_{i}"),
              {b"batch_label": b"training batch", b"labels": labels,
               b"data": _images(rng, labels), b"filenames": [b"x.png"] * per_batch})
    labels = [int(k) for k in np.arange(test) % 10]
    _dump(os.path.join(folder, "test_batch"), {b"labels": labels, b"data": _images(rng, labels)})
    _dump(os.path.join(folder, "batches.meta"),
          {b"label_names": [f"class{k}".encode() for k in range(10)], b"num_vis": 3072})
    return folder


def write_cifar100(root, train=200, test=100, seed=0):
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-100-python")
    os.makedirs(folder, exist_ok=True)
    for name, n in (("train", train), ("test", test)):
        fine = [int(k) for k in np.arange(n) % 100]
        _dump(os.path.join(folder, name), {b"fine_labels": fine, b"coarse_labels": [k // 5 for k in fine],
                                           b"data": _images(rng, fine)})
    _dump(os.path.join(folder, "meta"), {b"fine_label_names": [b"f"] * 100,
                                         b"coarse_label_names": [b"c"] * 20})
    return folder


def rewrite(path, protocol=2, **changes):
    """Load a pickle, change entries (None deletes), write it back in `protocol`."""
    with open(path, "rb") as f:
        obj = pickle.load(f, encoding="bytes")
    for key, value in changes.items():
        if value is None:
            obj.pop(key.encode())
        else:
            obj[key.encode()] = value
    _dump(path, obj, protocol)


# ---- faults for the CIFAR runs ---------------------------------------------------------------

class Killed(Exception):
    """Stands for the process dying."""


def kill_after_checkpoint(monkeypatch, cifar, k):
    """The run dies right after writing its k-th checkpoint; returns the real writer."""
    real, calls = cifar.save_checkpoint, []

    def save_then_stop(*args):
        real(*args)
        calls.append(1)
        if len(calls) == k:
            raise Killed
    monkeypatch.setattr(cifar, "save_checkpoint", save_then_stop)
    return real


def nan_at_call(monkeypatch, cifar, k):
    """Every loss that cifar makes gets NaN scores at its k-th call."""
    real_make = cifar.bounds.make

    def make(name, **params):
        loss, calls = real_make(name, **params), []

        def poisoned(scores, pairing=None, labels=None):
            calls.append(1)
            return loss(scores * float("nan") if len(calls) == k else scores, pairing, labels)
        poisoned.params = loss.params
        return poisoned
    monkeypatch.setattr(cifar.bounds, "make", make)
