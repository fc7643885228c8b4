"""MNIST and Fashion-MNIST as in-memory tensors, chosen in one place.

What lives here: finding the IDX files (or downloading them through torchvision),
parsing them with torchvision's dataset classes, caching the decoded tensors, the
deterministic train/validation split and the pixel handling (grayscale, dynamic or
static binarization). Batching lives in :mod:`course_utils.core.batches`.

The data set is chosen by :func:`resolve_dataset`: an explicit name, else the
``COURSE_DATASET`` environment variable (``auto``, ``mnist`` or ``fashion-mnist``),
else ``auto``. ``auto`` means **Fashion-MNIST, the course's default data set**: every
reference number in ``benchmarks/results`` was measured on it. MNIST, the original
assignment's data, is one switch away (``COURSE_DATASET=mnist``); asking for a data set
never falls back to the other one.

Files are looked for, in order, in: the ``root`` argument, ``COURSE_DATA_DIR``, for
Fashion-MNIST Debian's ``/usr/share/datasets/fashion-mnist`` (package
``dataset-fashion-mnist``), and the per-user cache (``<cache>/data``). In each folder
both torchvision's layout (``<root>/FashionMNIST/raw/...``) and a flat folder of the four
files (``.gz`` or not) are accepted. When none has them, torchvision downloads the data
set into the cache (:func:`download_dataset`); offline, the error says where it looked and what
to do.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import socket
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from course_utils.core.runtime import cache_dir
from course_utils.core.storage import atomic_write, writable_dir

DATASETS = ("mnist", "fashion-mnist")
DEFAULT_DATASET = "fashion-mnist"  # what ``auto`` (and no setting) means: the reference numbers' data set
ENV_DATASET = "COURSE_DATASET"
ENV_DATA_DIR = "COURSE_DATA_DIR"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
PIXELS = ("gray", "dynamic", "static")
SPLIT_SEED = 20240611  # fixed: the validation split never depends on the training seed
STATIC_BINARIZATION_SEED = 1234
CACHE_VERSION = 1

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_TV_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
PRETTY_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}  # how prose and messages spell them
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


class DataError(RuntimeError):
    """A data set is missing, corrupt or asked for wrongly; the message says what to do."""


# --------------------------------------------------------------------------- choice

def _normalise(name: str, from_env: bool = False) -> str:
    key = name.strip().lower().replace("_", "-")
    key = {"fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}.get(key, key)
    if key not in DATASETS + ("auto",):
        what = f"{ENV_DATASET}={name!r}" if from_env else f"Unknown data set {name!r}"
        raise DataError(
            f"{what}: not a data set. Use one of: auto, mnist, fashion-mnist "
            f"(as an argument or in the {ENV_DATASET} environment variable)."
        )
    return key


def search_dirs(dataset: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for ``dataset``'s files, in order."""
    dirs = []
    if root is not None:
        dirs.append(Path(root).expanduser())
    if os.environ.get(ENV_DATA_DIR):
        dirs.append(Path(os.environ[ENV_DATA_DIR]).expanduser())
    if dataset == "fashion-mnist":
        dirs.append(DEBIAN_FASHION_DIR)
    dirs.append(cache_dir() / "data")
    return dirs


def _find_files(dataset: str, folder: Path) -> dict[str, Path] | None:
    """The four IDX files of ``dataset`` in ``folder`` (either layout), or None."""
    for base in (folder / _TV_CLASS[dataset] / "raw", folder):
        found = {}
        for key, stem in FILES.items():
            for candidate in (base / stem, base / f"{stem}.gz"):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(FILES):
            return found
    return None


def locate(dataset: str, root=None) -> dict[str, Path] | None:
    """The first complete set of files for ``dataset`` along :func:`search_dirs`."""
    for folder in search_dirs(dataset, root):
        files = _find_files(dataset, folder)
        if files:
            return files
    return None


def _cache_file(dataset: str) -> Path:
    return cache_dir() / "data" / f"{dataset}-v{CACHE_VERSION}.pt"


_DOWNLOAD_FAILED: dict[str, str] = {}  # per process: do not retry a failed download


def download_dataset(dataset: str, root=None, timeout: float = 20.0) -> dict[str, Path]:
    """Download ``dataset`` with torchvision into ``root`` (default: the cache) and return its files.

    Raises :class:`DataError` when offline. A failure is remembered for the rest
    of the process so later calls do not wait again.
    """
    dataset = _normalise(dataset)
    if dataset == "auto":
        dataset = DEFAULT_DATASET
    target = Path(root).expanduser() if root is not None else cache_dir() / "data"
    if dataset in _DOWNLOAD_FAILED:
        raise DataError(_DOWNLOAD_FAILED[dataset])
    import torchvision

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(torchvision.datasets, _TV_CLASS[dataset])(str(target), train=True, download=True)
    except Exception as exc:  # URLError, RuntimeError('Error downloading'), OSError
        first = str(exc).strip().splitlines()
        reason = first[-1] if first else type(exc).__name__
        _DOWNLOAD_FAILED[dataset] = f"{PRETTY_NAMES[dataset]} could not be downloaded into {target}: {reason}"
        raise DataError(_DOWNLOAD_FAILED[dataset]) from exc
    finally:
        socket.setdefaulttimeout(old)
    files = _find_files(dataset, target)
    if files is None:  # pragma: no cover - torchvision changed its layout
        raise DataError(f"torchvision downloaded {PRETTY_NAMES[dataset]} but its files are not in {target}.")
    return files


def download_mnist(root=None, timeout: float = 20.0) -> dict[str, Path]:
    """:func:`download_dataset` of MNIST."""
    return download_dataset("mnist", root, timeout)


def download_fashion_mnist(root=None, timeout: float = 20.0) -> dict[str, Path]:
    """:func:`download_dataset` of Fashion-MNIST."""
    return download_dataset("fashion-mnist", root, timeout)


def _missing_message(dataset: str, root) -> str:
    places = "\n".join(f"  - {p}" for p in search_dirs(dataset, root))
    if dataset == "mnist":
        remedies = (
            "Remedies: (1) go online once and run `python -m course_utils data --dataset mnist` "
            "(torchvision downloads it into the cache); or (2) copy the four IDX files "
            "(train-images-idx3-ubyte.gz, ...) into one of the folders above or into "
            f"${ENV_DATA_DIR}. Or use the course's default data set, Fashion-MNIST (the one its "
            f"reference numbers were measured on): set {ENV_DATASET}=fashion-mnist or unset {ENV_DATASET}."
        )
    else:
        remedies = (
            "Remedies: (1) `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu, works "
            "offline); or (2) go online once and run `python -m course_utils data` (torchvision "
            "downloads Fashion-MNIST into the cache); or (3) copy the four Fashion-MNIST IDX files "
            "(train-images-idx3-ubyte.gz, ...) into one of the folders above or into "
            f"${ENV_DATA_DIR}."
        )
    return f"{PRETTY_NAMES[dataset]} was not found. Looked in:\n{places}\n{remedies}"


def resolve_dataset(name: str | None = None) -> str:
    """Return ``'mnist'`` or ``'fashion-mnist'`` for ``name`` (default: ``$COURSE_DATASET``, else auto).

    ``auto`` is the course's default data set, Fashion-MNIST (:data:`DEFAULT_DATASET`):
    the one every reference number was measured on. Only the name is decided here;
    :func:`load_raw` finds or downloads the files and explains what is missing.
    """
    from_env = name is None
    if from_env:
        name = os.environ.get(ENV_DATASET) or "auto"
    key = _normalise(name, from_env)
    return DEFAULT_DATASET if key == "auto" else key


# --------------------------------------------------------------------------- parsing

def _stage(files: dict[str, Path], raw: Path) -> None:
    """Place uncompressed copies of ``files`` in torchvision's ``raw`` folder."""
    raw.mkdir(parents=True, exist_ok=True)
    for key, src in files.items():
        dst = raw / FILES[key]
        if src.suffix == ".gz":
            try:
                with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            except (OSError, EOFError) as exc:
                raise DataError(
                    f"{src} is truncated or corrupt ({exc}). Delete it and get the file again "
                    "(re-download, or reinstall the package that provided it)."
                ) from exc
        elif src.resolve() != dst.resolve():
            shutil.copyfile(src, dst)


def _parse(dataset: str, files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """Decode the IDX files with torchvision's dataset class; return uint8/int64 tensors."""
    import torchvision

    cls = getattr(torchvision.datasets, _TV_CLASS[dataset])
    with tempfile.TemporaryDirectory(prefix="course-data-") as tmp:
        _stage(files, Path(tmp) / _TV_CLASS[dataset] / "raw")
        out = {}
        for split, train in (("train", True), ("test", False)):
            try:
                ds = cls(tmp, train=train, download=False)
            except Exception as exc:  # AssertionError/ValueError/RuntimeError from the parser
                bad = files[f"{split}_images"], files[f"{split}_labels"]
                raise DataError(
                    f"Could not parse {bad[0]} / {bad[1]}: the file is truncated or corrupt "
                    f"({type(exc).__name__}: {exc}). Delete it and get it again."
                ) from exc
            images, labels = ds.data, ds.targets
            if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
                raise DataError(
                    f"{files[f'{split}_images']} holds images of shape {tuple(images.shape)} with "
                    f"{len(labels)} labels; expected (N, 28, 28) with N labels."
                )
            out[f"{split}_images"] = images.to(torch.uint8).contiguous()
            out[f"{split}_labels"] = labels.to(torch.int64).contiguous()
    return out


def _fingerprint(files: dict[str, Path]) -> str:
    h = hashlib.sha1()
    for key in sorted(files):
        st = files[key].stat()
        h.update(f"{key}:{files[key].resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def load_raw(dataset: str, root=None, download: bool = True, use_cache: bool = True):
    """The decoded uint8 images and int64 labels of ``dataset`` (train and test), cached.

    The cache (``<cache>/data/<dataset>-v1.pt``) is used only when it was made from
    the same source files; a read-only cache folder only means no caching.
    """
    dataset = _normalise(dataset)
    if dataset == "auto":
        raise DataError("load_raw needs a concrete data set; call resolve_dataset first.")
    files = locate(dataset, root)
    cached = _cache_file(dataset)
    if use_cache and cached.is_file():
        try:
            blob = torch.load(cached, weights_only=True)
        except Exception:  # a corrupt cache is rebuilt, never trusted
            blob = None
        if blob is not None and (files is None or blob.get("fingerprint") == _fingerprint(files)):
            return {k: blob[k] for k in FILES}
    if files is None and download:
        try:
            files = download_dataset(dataset, root)
        except DataError as exc:
            raise DataError(f"{exc}\n{_missing_message(dataset, root)}") from exc
    if files is None:
        raise DataError(_missing_message(dataset, root))
    tensors = _parse(dataset, files)
    if use_cache and writable_dir(cached.parent, "the decoded data cache") is not None:
        with atomic_write(cached) as fh:
            torch.save({**tensors, "fingerprint": _fingerprint(files)}, fh)
    return tensors


# --------------------------------------------------------------------------- splits

class Split:
    """One split: ``images`` float32 of shape (N, 784) in [0, 1] (or {0, 1}), ``labels`` int64 (N,).

    **Memory.** :func:`load_data` keeps the pixels as uint8 (:attr:`stored`, one byte a pixel:
    39 MB for the 50 000 training images instead of 157 MB of float32), and ``images``
    converts them on each access: ``stored / 255`` in float32 (gray and dynamic pixels) or
    ``stored`` itself as float32 (static binarization, {0, 1}). Every access gives the same
    float32 values, the ones a float32 copy made once at loading would hold; so keep the
    result in a variable while you use it (one float32 copy), and take what you need with
    :meth:`rows`, :meth:`take` or :meth:`batches`, which convert only those images. Writing
    into ``split.images[...]`` changes only that copy; assign ``split.images = tensor`` to
    replace the images.

    ``Split(images, labels)`` with a float tensor keeps that tensor: ``images`` is it, as stored.
    ``divisor`` (used by :func:`load_data`) says the stored pixels are integers to be divided by it.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, divisor: float | None = None):
        if divisor is not None and images.is_floating_point():
            raise ValueError("divisor is for integer pixels (uint8); float images are kept as they are")
        self._stored, self.divisor, self.labels = images, divisor, labels

    @property
    def stored(self) -> torch.Tensor:
        """The images as kept in memory: uint8 when loaded by :func:`load_data` (see the class docstring)."""
        return self._stored

    @property
    def images(self) -> torch.Tensor:
        """The images as float32 (N, 784): the stored tensor itself, or a fresh conversion of stored uint8 pixels."""
        return self.convert(self._stored)

    @images.setter
    def images(self, value: torch.Tensor) -> None:
        self._stored, self.divisor = value, None

    @property
    def dim(self) -> int:
        """Values per image (784)."""
        return math.prod(self._stored.shape[1:])

    def convert(self, stored: torch.Tensor) -> torch.Tensor:
        """Stored pixels (any rows of :attr:`stored`) -> the float32 values they stand for; float images pass unchanged.

        Elementwise, so converting a batch gives exactly the rows of converting everything.
        """
        if self.divisor is None:
            return stored
        x = stored.to(torch.float32)
        return x if self.divisor == 1 else x.div_(self.divisor)

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """``images[start:stop]``, converting only those rows."""
        return self.convert(self._stored[start:stop])

    def take(self, index) -> torch.Tensor:
        """``images[index]`` for any index (rows as a tensor or list, a slice, one int), converting only those."""
        return self.convert(self._stored[index])

    def checked(self) -> torch.Tensor:
        """What a range check of the images needs to see: all of ``images`` when they are floats as given, or
        the first row only when they are stored integer pixels over a divisor (those are in [0, 1] by
        construction; converting all of them just to check would cost a float32 copy of the split)."""
        return self.images if self.divisor is None else self.rows(0, 1)

    def batches(self, *, with_labels: bool = False, **kwargs):
        """A :class:`~course_utils.core.batches.Batches` over these images that converts each batch when it is drawn.

        The same batches (values, order, binarization draws) as ``Batches(split.images, ...)``,
        without a float32 copy of the whole split. ``kwargs`` go to ``Batches``.
        """
        from course_utils.core.batches import Batches

        return Batches(self._stored, self.labels if with_labels else None,
                       transform=None if self.divisor is None else self.convert, **kwargs)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"Split(n={len(self)}, stored={self._stored.dtype}, divisor={self.divisor})"

    def subset(self, n: int | None) -> Split:
        """The first ``n`` examples (all when ``n`` is None); stored pixels stay stored (a view)."""
        return self if n is None else Split(self._stored[:n], self.labels[:n], self.divisor)


@dataclass
class Data:
    """A data set held in memory. ``pixels`` says how the images were prepared:

    - ``gray``: intensities in [0, 1];
    - ``static``: one fixed, seeded Bernoulli sample per image (values in {0, 1});
    - ``dynamic``: intensities in [0, 1], and ``binarize`` is True so the batch
      iterator draws a fresh Bernoulli sample each time a batch is drawn.
    """

    name: str
    train: Split
    val: Split
    test: Split
    pixels: str
    class_names: list[str]

    @property
    def binarize(self) -> bool:
        """Whether batches must be binarized on the fly (dynamic binarization)."""
        return self.pixels == "dynamic"

    @property
    def pretty_name(self) -> str:
        return PRETTY_NAMES[self.name]

    def __repr__(self) -> str:
        return (f"Data({self.pretty_name}, pixels={self.pixels!r}, train={len(self.train)}, "
                f"val={len(self.val)}, test={len(self.test)})")


def split_indices(n_train: int, val_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic (train, validation) indices: a fixed-seed permutation of ``range(n_train)``.

    ``val_size`` defaults to one sixth (10 000 of MNIST's 60 000).
    """
    if val_size is None:
        val_size = n_train // 6
    if not 0 <= val_size < n_train:
        raise ValueError(f"val_size must be in [0, {n_train}), got {val_size}")
    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def load_data(dataset: str | None = None, pixels: str = "dynamic", root=None,
              val_size: int | None = None, download: bool = True, verbose: bool = True) -> Data:
    """Load MNIST or Fashion-MNIST into memory, split into train / validation / test.

    Args:
        dataset: ``'mnist'``, ``'fashion-mnist'``, ``'auto'`` or None (``$COURSE_DATASET``); ``auto`` is Fashion-MNIST.
        pixels: ``'gray'``, ``'dynamic'`` (fresh binarization per batch) or ``'static'``.
        root: a folder to look in first.
        val_size: validation images held out of the training set (default 1/6: 10 000).
    """
    if pixels not in PIXELS:
        raise ValueError(f"pixels must be one of {PIXELS}, got {pixels!r}")
    name = resolve_dataset(dataset)
    raw = load_raw(name, root=root, download=download)

    def to_float(images: torch.Tensor) -> torch.Tensor:
        return images.reshape(len(images), -1).to(torch.float32).div_(255.0)

    # Images are kept as uint8 (Split.images converts them to float32 when asked, see Split).
    tr, va = split_indices(len(raw["train_images"]), val_size)
    if pixels == "static":  # one draw over the whole training set, in file order, then split
        gen = torch.Generator().manual_seed(STATIC_BINARIZATION_SEED)
        train_x = torch.bernoulli(to_float(raw["train_images"]), generator=gen).to(torch.uint8)
        test_x = torch.bernoulli(to_float(raw["test_images"]), generator=gen).to(torch.uint8)
        divisor = 1.0  # {0, 1} as they are
    else:
        train_x = raw["train_images"].reshape(len(raw["train_images"]), -1)
        test_x = raw["test_images"].reshape(len(raw["test_images"]), -1)
        divisor = 255.0
    train_images, val_images = train_x[tr], train_x[va]
    del train_x
    labels = raw["train_labels"]
    return Data(
        name=name,
        train=Split(train_images, labels[tr], divisor),
        val=Split(val_images, labels[va], divisor),
        test=Split(test_x.contiguous(), raw["test_labels"], divisor),
        pixels=pixels,
        class_names=list(CLASS_NAMES[name]),
    )
