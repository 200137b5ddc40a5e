"""CIFAR-10 and CIFAR-100 from the official "python version" pickles.

    data = load_cifar("~/data", "cifar10")      # the folder itself or its parent
    data.train_images  # uint8 (50000, 3, 32, 32)    data.train_labels  int64 (50000,)
    for x, y in batches(data.train_images, data.train_labels, 128, rng): ...
        # x: float32 (B, 32, 32, 3), channels last, normalized to mean 0.5 / std 0.5

Nothing is downloaded: the error for a missing file says where the data set
comes from and what the folder must hold. Images stay uint8 in memory (150 MB
for CIFAR-10) and each batch is converted on its own.

A pickle can name any function to call while it loads, so a data folder could
run code. The pickles are read by an unpickler that builds only what the
official files hold (dicts, lists, bytes, str, ints and NumPy arrays) and
refuses any other global, naming the file and the global, before calling it.
"""
import codecs
import os
import pickle

import numpy as np

from .. import backend

SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html (the 'python version')"
LAYOUTS = {
    "cifar10": {"folder": "cifar-10-batches-py", "archive": "cifar-10-python.tar.gz",
                "train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"],
                "meta": "batches.meta", "classes": {"fine": 10}},
    "cifar100": {"folder": "cifar-100-python", "archive": "cifar-100-python.tar.gz",
                 "train": ["train"], "test": ["test"], "meta": "meta",
                 "classes": {"fine": 100, "coarse": 20}},
}


class CifarError(ValueError):
    """A missing or malformed CIFAR file; the message names it."""


class Cifar:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of both splits."""

    def __init__(self, name, folder, train_images, train_labels, test_images, test_labels,
                 num_classes, class_names):
        self.name, self.folder, self.num_classes = name, folder, num_classes
        self.train_images, self.train_labels = train_images, train_labels
        self.test_images, self.test_labels = test_images, test_labels
        self.class_names = class_names

    def __repr__(self):
        return (f"Cifar({self.name}: {len(self.train_labels)} train, {len(self.test_labels)} "
                f"test, {self.num_classes} classes, from {self.folder})")


def find_folder(path, dataset):
    """The folder holding the pickles: `path` itself, or `path/<official folder>`."""
    if dataset not in LAYOUTS:
        raise ValueError(f"unknown dataset {dataset!r}: choose cifar10 or cifar100")
    layout = LAYOUTS[dataset]
    path = os.path.expanduser(path or os.environ.get("MINIMI_DATA", ""))
    if not path:
        raise CifarError(f"no data folder given: pass --data DIR or set MINIMI_DATA. "
                         f"{_where(dataset)}")
    for candidate in (path, os.path.join(path, layout["folder"])):
        if os.path.isfile(os.path.join(candidate, layout["train"][0])):
            return candidate
    return path if os.path.basename(os.path.normpath(path)) == layout["folder"] else \
        os.path.join(path, layout["folder"])


def _where(dataset):
    layout = LAYOUTS[dataset]
    files = ", ".join(layout["train"] + layout["test"] + [layout["meta"]])
    return (f"Get {layout['archive']} from {SOURCE}, unpack it, and pass the folder "
            f"{layout['folder']}/ (or its parent); it must contain {files}.")


def _numpy_globals():
    """The globals an array's pickle names, (module, name) -> object: NumPy's array
    reconstruction in Python 2 pickles (the official files: numpy.core) and Python 3
    ones (numpy._core since NumPy 2; _frombuffer from pickle protocol 5)."""
    core = getattr(np, "_core", None) or np.core
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = core.multiarray._reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = core.numeric._frombuffer
    # protocol-2 pickles written by Python 3 store bytes as _codecs.encode(str, 'latin1')
    allowed[("_codecs", "encode")] = codecs.encode
    return allowed


class _DataUnpickler(pickle.Unpickler):
    """Builds only what the official CIFAR files hold; any other global is refused when
    the pickle names it, before anything could call it."""

    def __init__(self, f, path):
        super().__init__(f, encoding="bytes")
        self.path, self.allowed = path, _numpy_globals()

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            raise CifarError(f"{self.path}: refused to load: the pickle names the global "
                             f"{module}.{name}, which a CIFAR file never holds (loading it "
                             "could run code); nothing of it was run")
        return self.allowed[(module, name)]


def _load_pickle(path, dataset):
    if not os.path.isfile(path):
        raise CifarError(f"{path}: missing. {_where(dataset)}")
    try:
        with open(path, "rb") as f:
            obj = _DataUnpickler(f, path).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError) as error:
        if isinstance(error, CifarError):
            raise
        raise CifarError(f"{path}: truncated or corrupt pickle ({type(error).__name__}: "
                         f"{error}). {_where(dataset)}") from None
    if not isinstance(obj, dict):
        raise CifarError(f"{path}: expected a dict of arrays, found {type(obj).__name__}")
    # the official files have bytes keys; accept str keys too
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _split(folder, files, dataset, label_key, num_classes):
    images, labels = [], []
    for name in files:
        path = os.path.join(folder, name)
        batch = _load_pickle(path, dataset)
        for key in ("data", label_key):
            if key not in batch:
                raise CifarError(f"{path}: no {key!r} entry (found {sorted(batch)})")
        data = np.asarray(batch["data"])
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise CifarError(f"{path}: 'data' must be uint8 of shape (N, 3072), got "
                             f"{data.dtype} {data.shape}")
        label = np.asarray(batch[label_key])
        if label.ndim != 1 or label.dtype.kind not in "iu":
            raise CifarError(f"{path}: {label_key!r} must be a list of integers, got "
                             f"{label.dtype} {label.shape}")
        if len(label) != len(data):
            raise CifarError(f"{path}: {len(data)} images but {len(label)} labels")
        if len(label) and (label.min() < 0 or label.max() >= num_classes):
            raise CifarError(f"{path}: labels must lie in [0, {num_classes}), found "
                             f"[{label.min()}, {label.max()}]")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(label.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_cifar(path=None, dataset="cifar10", labels="fine"):
    """Load both splits. labels: 'fine' (default) or, for CIFAR-100, 'coarse'."""
    folder = find_folder(path, dataset)
    layout = LAYOUTS[dataset]
    if labels not in layout["classes"]:
        raise ValueError(f"{dataset} has {' and '.join(layout['classes'])} labels, not {labels!r}")
    num_classes = layout["classes"][labels]
    key = "labels" if dataset == "cifar10" else f"{labels}_labels"
    train = _split(folder, layout["train"], dataset, key, num_classes)
    test = _split(folder, layout["test"], dataset, key, num_classes)
    meta = _load_pickle(os.path.join(folder, layout["meta"]), dataset)
    names_key = "label_names" if dataset == "cifar10" else f"{labels}_label_names"
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(names_key, [])]
    if names and len(names) != num_classes:
        raise CifarError(f"{os.path.join(folder, layout['meta'])}: {len(names)} class names for "
                         f"{num_classes} classes")
    return Cifar(dataset, folder, *train, *test, num_classes, names)


def to_float(images):
    """uint8 (B, 3, 32, 32) -> float32 (B, 32, 32, 3), channels last, (x/255 − 0.5)/0.5,
    on the device the images are on (NumPy or CuPy)."""
    x = images.transpose(0, 2, 3, 1).astype(np.float32)
    x *= 2.0 / 255.0
    x -= 1.0
    return x


def to_device_float(images):
    """Host uint8 images to float32 NHWC on the active device, converted there: a
    GPU receives a quarter of the bytes that float32 would take."""
    return to_float(backend.to_device(np.ascontiguousarray(images)))


def balanced_subset(labels, n, rng):
    """Indices of n samples with the classes as equal as possible (sorted)."""
    classes = np.unique(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    per_class = np.full(len(classes), n // len(classes))
    per_class[:n % len(classes)] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), min(k, int((labels == c).sum())),
                         replace=False) for c, k in zip(classes, per_class)]
    return np.sort(np.concatenate(chosen))


def batches(images, labels, batch_size, rng=None, drop_last=True):
    """(float32 NHWC images on the active device, int64 host labels) minibatches;
    shuffled when rng is given."""
    order = rng.permutation(len(labels)) if rng is not None else np.arange(len(labels))
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield to_device_float(images[idx]), labels[idx]
