"""Data loading: the MNIST path on tiny IDX files, Fashion-MNIST (the course's default) from
Debian or a download, the data-set choice, clear errors, the cache, and the batch iterator."""
from __future__ import annotations

import gzip

import pytest
import torch
from conftest import make_tiny_mnist, missing_prerequisite, write_idx

from course_utils.core import data as D
from course_utils.core.batches import Batches

# ----------------------------------------------------------------------------- MNIST path

def test_mnist_from_tiny_idx_files(tiny_mnist, offline):
    root, written = tiny_mnist
    d = D.load_data("mnist", pixels="gray", root=root)
    assert d.name == "mnist" and d.pixels == "gray"
    assert len(d.train) + len(d.val) == 60 and len(d.val) == 10 and len(d.test) == 12
    for split in (d.train, d.val, d.test):
        assert split.images.dtype == torch.float32 and split.images.shape[1] == 784
        assert split.labels.dtype == torch.int64
        assert 0.0 <= split.images.min() and split.images.max() <= 1.0
    # test split is exactly the file's contents, in order, scaled to [0, 1]
    torch.testing.assert_close(d.test.images, written["test_images"].reshape(12, -1).float() / 255)
    assert torch.equal(d.test.labels, written["test_labels"].long())
    # train + val together are the 60 training images, each exactly once, labels aligned
    all_imgs = torch.cat([d.train.images, d.val.images])
    all_lbls = torch.cat([d.train.labels, d.val.labels])
    ref = written["train_images"].reshape(60, -1).float() / 255
    order = [int(torch.nonzero((ref == row).all(1))[0]) for row in all_imgs]
    assert sorted(order) == list(range(60))
    assert torch.equal(all_lbls, written["train_labels"].long()[order])


def test_flat_layout_and_uncompressed_files(tmp_path, offline):
    folder = tmp_path / "flat"
    written = make_tiny_mnist(folder, layout="flat")
    for f in folder.glob("*.gz"):  # decompress one file to check both forms are read
        if f.name.startswith("t10k-labels"):
            (folder / f.stem).write_bytes(gzip.decompress(f.read_bytes()))
            f.unlink()
    d = D.load_data("mnist", pixels="gray", root=folder)
    assert torch.equal(d.test.labels, written["test_labels"].long())


def test_validation_split_is_deterministic_and_disjoint():
    tr1, va1 = D.split_indices(60000)
    tr2, va2 = D.split_indices(60000)
    assert torch.equal(tr1, tr2) and torch.equal(va1, va2)
    assert len(va1) == 10000 and len(tr1) == 50000
    assert len(set(tr1.tolist()) | set(va1.tolist())) == 60000
    # not simply the last 10k: a random, fixed subset
    assert not torch.equal(va1, torch.arange(50000, 60000))


def test_static_binarization_is_fixed_and_binary(tiny_mnist, offline):
    root, _ = tiny_mnist
    a = D.load_data("mnist", pixels="static", root=root)
    b = D.load_data("mnist", pixels="static", root=root)
    assert torch.equal(a.train.images, b.train.images)
    assert set(a.train.images.unique().tolist()) <= {0.0, 1.0}
    assert not a.binarize


def test_dynamic_binarization_differs_between_draws_with_right_mean():
    images = torch.full((4000, 784), 0.3)
    images[:2000] = 0.8
    it = Batches(images, batch_size=4000, shuffle=False, binarize=True, seed=0)
    first, second = next(iter(it)), next(iter(it))
    assert set(first.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(first, second)
    # mean of a Bernoulli(p) sample is p: 784*2000 draws each -> std ~ 3e-4
    assert abs(first[:2000].mean().item() - 0.8) < 3e-3
    assert abs(first[2000:].mean().item() - 0.3) < 3e-3


def test_load_data_dynamic_flags_binarize(tiny_mnist, offline):
    root, _ = tiny_mnist
    d = D.load_data("mnist", pixels="dynamic", root=root)
    assert d.binarize and d.train.images.unique().numel() > 2


# ----------------------------------------------------------------------------- Fashion-MNIST

def test_fashion_mnist_from_debian():
    if not D.DEBIAN_FASHION_DIR.is_dir():
        missing_prerequisite("Debian package dataset-fashion-mnist is not installed (apt-get install "
                             "dataset-fashion-mnist)")
    d = D.load_data("fashion-mnist", pixels="gray")
    assert (len(d.train), len(d.val), len(d.test)) == (50000, 10000, 10000)
    assert d.class_names[0] == "T-shirt/top"
    assert torch.equal(d.test.labels.bincount(), torch.full((10,), 1000))
    # the second load comes from the decoded cache
    assert D._cache_file("fashion-mnist").is_file()
    d2 = D.load_data("fashion-mnist", pixels="gray")
    assert torch.equal(d.train.images, d2.train.images)


def serve_tiny_idx_files(tmp_path, monkeypatch, tv_class):
    """Point torchvision's ``tv_class`` download at a local HTTP server of tiny IDX files written here
    (their checksums replace the real ones); return (what was written, the server)."""
    import functools
    import hashlib
    import http.server
    import threading

    served = tmp_path / "served"
    written = make_tiny_mnist(served, layout="flat")
    files = sorted(p.name for p in served.glob("*.gz"))
    monkeypatch.setattr(tv_class, "resources",
                        [(name, hashlib.md5((served / name).read_bytes()).hexdigest()) for name in files])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(tv_class, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
    monkeypatch.setattr(D, "_DOWNLOAD_FAILED", {})
    return written, server


def test_mnist_download_from_a_local_server(tmp_path, monkeypatch):
    """The download path of MNIST: torchvision's MNIST download, pointed at a local HTTP server."""
    import torchvision

    written, server = serve_tiny_idx_files(tmp_path, monkeypatch, torchvision.datasets.MNIST)
    try:
        got = D.download_mnist(timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert set(got) == set(D.FILES) and all(p.is_relative_to(D.cache_dir() / "data") for p in got.values())
    d = D.load_data("mnist", pixels="gray", verbose=False)  # found in the cache, no second download
    assert len(d.train) + len(d.val) == 60 and torch.equal(d.test.labels, written["test_labels"].long())


def test_fashion_mnist_download_from_a_local_server(tmp_path, monkeypatch):
    """Without Debian's copy and without the cache, the default data set (no COURSE_DATASET) is downloaded
    by torchvision's FashionMNIST into the cache -- here from a local HTTP server -- and then read from there."""
    import torchvision

    monkeypatch.setattr(D, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    monkeypatch.delenv("COURSE_DATASET")
    written, server = serve_tiny_idx_files(tmp_path, monkeypatch, torchvision.datasets.FashionMNIST)
    try:
        d = D.load_data(pixels="gray", verbose=False)
        files = D.locate("fashion-mnist")
    finally:
        server.shutdown()
        server.server_close()
    assert d.name == "fashion-mnist" and d.class_names[0] == "T-shirt/top"
    assert len(d.train) + len(d.val) == 60 and torch.equal(d.test.labels, written["test_labels"].long())
    assert set(files) == set(D.FILES)
    assert all(p.is_relative_to(D.cache_dir() / "data" / "FashionMNIST" / "raw") for p in files.values())
    again = D.load_data(pixels="gray", verbose=False)  # server gone: found in the cache, no second download
    assert torch.equal(again.test.images, d.test.images)


def test_fashion_mnist_download_failure_explains(tmp_path, offline, monkeypatch):
    """Offline, without Debian's copy or a cached one: the error says the download failed, where the
    files were looked for, and the three remedies (apt, the data command online, copying the files)."""
    monkeypatch.setattr(D, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    monkeypatch.delenv("COURSE_DATASET")
    with pytest.raises(D.DataError) as err:
        D.load_data(verbose=False)
    msg = str(err.value)
    assert msg.startswith("Fashion-MNIST could not be downloaded into") and "network disabled" in msg
    assert "Fashion-MNIST was not found" in msg and str(tmp_path / "no-debian-package") in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "python -m course_utils data" in msg
    assert "COURSE_DATA_DIR" in msg
    with pytest.raises(D.DataError, match="^Fashion-MNIST could not be downloaded"):  # remembered: no new wait
        D.download_fashion_mnist()


# ----------------------------------------------------------------------------- choice

def test_auto_and_no_setting_mean_fashion_mnist_even_when_mnist_is_on_disk(tiny_mnist, offline, monkeypatch,
                                                                            capsys):
    """Fashion-MNIST is the course's default: every reference number was measured on it."""
    root, _ = tiny_mnist
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))  # MNIST is right there: auto still does not take it
    assert D.DEFAULT_DATASET == "fashion-mnist"
    assert D.resolve_dataset("auto") == "fashion-mnist"
    monkeypatch.delenv("COURSE_DATASET")
    assert D.resolve_dataset(None) == "fashion-mnist"  # unset COURSE_DATASET means auto
    monkeypatch.setenv("COURSE_DATASET", "mnist")  # MNIST is one switch away
    assert D.resolve_dataset() == "mnist"
    assert capsys.readouterr().out == ""


def test_auto_loads_fashion_mnist_from_debians_folder_first(tmp_path, offline, monkeypatch):
    fashion = tmp_path / "fashion"
    written = make_tiny_mnist(fashion, layout="flat")  # same format, stands in for Debian's folder
    monkeypatch.setattr(D, "DEBIAN_FASHION_DIR", fashion)
    monkeypatch.setenv("COURSE_DATASET", "auto")
    make_tiny_mnist(D.cache_dir() / "data", n_train=48, n_test=7, seed=1, name="FashionMNIST")  # a cached copy too
    assert D.search_dirs("fashion-mnist")[-2:] == [fashion, D.cache_dir() / "data"]
    d = D.load_data(pixels="gray", verbose=False)
    assert d.name == "fashion-mnist" and torch.equal(d.test.labels, written["test_labels"].long())


def test_env_var_chooses_dataset(monkeypatch):
    monkeypatch.setenv("COURSE_DATASET", "fashion-mnist")
    assert D.resolve_dataset() == "fashion-mnist"
    monkeypatch.setenv("COURSE_DATASET", "cifar")
    with pytest.raises(D.DataError, match="COURSE_DATASET='cifar': not a data set. Use one of: auto, mnist"):
        D.resolve_dataset()
    with pytest.raises(D.DataError, match="Unknown data set 'cifar'"):
        D.resolve_dataset("cifar")


def test_explicit_mnist_offline_raises_clear_error(offline, tmp_path, monkeypatch):
    fashion = tmp_path / "fashion"
    make_tiny_mnist(fashion, layout="flat")
    monkeypatch.setattr(D, "DEBIAN_FASHION_DIR", fashion)  # a fallback exists but must not be used
    with pytest.raises(D.DataError) as err:
        D.load_data("mnist", root=tmp_path / "empty")
    msg = str(err.value)
    assert "MNIST was not found" in msg and str(tmp_path / "empty") in msg
    assert "python -m course_utils data --dataset mnist" in msg and "COURSE_DATA_DIR" in msg
    assert "course's default data set, Fashion-MNIST" in msg and "COURSE_DATASET=fashion-mnist" in msg


# ----------------------------------------------------------------------------- bad files, cache

def test_truncated_gz_names_the_file(tiny_mnist, offline):
    root, _ = tiny_mnist
    bad = root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    with pytest.raises(D.DataError, match="train-images-idx3-ubyte.gz.*truncated or corrupt"):
        D.load_data("mnist", root=root)


def test_truncated_idx_payload_names_the_file(tmp_path, offline):
    folder = tmp_path / "flat"
    make_tiny_mnist(folder, layout="flat")
    gz = folder / "t10k-images-idx3-ubyte.gz"
    payload = gzip.decompress(gz.read_bytes())
    gz.unlink()
    (folder / "t10k-images-idx3-ubyte").write_bytes(payload[:-100])  # header promises more
    with pytest.raises(D.DataError, match="t10k-images-idx3-ubyte.*truncated or corrupt"):
        D.load_data("mnist", root=folder)


def test_cache_is_used_and_refreshed_when_sources_change(tiny_mnist, offline, monkeypatch):
    """Unchanged sources are served from the decoded-data cache (the IDX files are not read again);
    rewritten sources (new content, newer mtime) are decoded again and the cache follows them."""
    import os

    root, written = tiny_mnist
    parsed, staged = [], []
    real_parse, real_stage = D._parse, D._stage
    monkeypatch.setattr(D, "_parse", lambda dataset, files: parsed.append(dict(files)) or real_parse(dataset, files))
    monkeypatch.setattr(D, "_stage", lambda files, raw: staged.append(dict(files)) or real_stage(files, raw))

    first = D.load_raw("mnist", root=root)
    assert len(parsed) == 1 and len(staged) == 1 and D._cache_file("mnist").is_file()
    assert torch.equal(first["test_labels"], written["test_labels"].long())

    # unchanged sources: answered from the cache, the IDX files are neither decoded nor copied
    again = D.load_raw("mnist", root=root)
    assert len(parsed) == 1 and len(staged) == 1
    for key in D.FILES:
        assert torch.equal(again[key], first[key]), key

    # the sources change: other images and labels (another seed, other sizes), a later mtime
    new = make_tiny_mnist(root, n_train=48, n_test=7, seed=1)
    for path in (root / "MNIST" / "raw").iterdir():
        stat = path.stat()
        os.utime(path, (stat.st_atime + 100, stat.st_mtime + 100))
    changed = D.load_raw("mnist", root=root)
    assert len(parsed) == 2  # decoded again, from the new files
    assert torch.equal(changed["train_images"], new["train_images"])
    assert torch.equal(changed["test_images"], new["test_images"])
    assert torch.equal(changed["test_labels"], new["test_labels"].long())
    assert not torch.equal(changed["test_images"][:7], first["test_images"][:7])

    # the cache now holds the new data: the next load reads nothing and still gives the new files
    cached = D.load_raw("mnist", root=root)
    assert len(parsed) == 2 and torch.equal(cached["train_images"], new["train_images"])

    # one source file alone changing (same size, new content and mtime) is enough to decode again
    labels = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    write_idx(labels, (new["test_labels"] + 1) % 10)
    stat = labels.stat()
    os.utime(labels, (stat.st_atime + 200, stat.st_mtime + 200))
    relabelled = D.load_raw("mnist", root=root)
    assert len(parsed) == 3 and torch.equal(relabelled["test_labels"], ((new["test_labels"] + 1) % 10).long())
    assert torch.equal(relabelled["test_images"], new["test_images"])


def test_read_only_cache_dir_does_not_crash(tiny_mnist, offline, monkeypatch, tmp_path):
    """Runs as root too: the cache path sits under a regular file, so nothing can be created."""
    root, _ = tiny_mnist
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="Cannot write the decoded data cache"):
        d = D.load_data("mnist", root=root)
    assert len(d.test) == 12


def test_bad_pixels_argument():
    with pytest.raises(ValueError, match="pixels must be one of"):
        D.load_data("mnist", pixels="binary")


# ----------------------------------------------------------------------------- batches

def test_batches_cover_every_example_once_per_epoch():
    x = torch.arange(1000, dtype=torch.float32).unsqueeze(1)
    y = torch.arange(1000)
    it = Batches(x, y, batch_size=128, seed=3)
    assert len(it) == 8
    for _ in range(2):
        seen = torch.cat([yb for _, yb in it])
        assert sorted(seen.tolist()) == list(range(1000))
    xb, yb = next(iter(it))
    assert torch.equal(xb[:, 0].long(), yb)  # images and labels stay aligned


def test_batches_reshuffle_each_epoch_and_are_reproducible():
    x = torch.rand(300, 784)
    a = Batches(x, batch_size=64, seed=7, binarize=True)
    b = Batches(x, batch_size=64, seed=7, binarize=True)
    ea1, ea2 = [torch.cat(list(a)) for _ in range(2)]
    eb1, eb2 = [torch.cat(list(b)) for _ in range(2)]
    assert torch.equal(ea1, eb1) and torch.equal(ea2, eb2)
    assert not torch.equal(ea1, ea2)
    c = Batches(x, batch_size=64, seed=8, binarize=True)
    assert not torch.equal(torch.cat(list(c)), ea1)


def test_batches_drop_last_and_errors():
    x = torch.rand(130, 4)
    assert len(Batches(x, batch_size=64, drop_last=True)) == 2
    assert sum(len(b) for b in Batches(x, batch_size=64)) == 130
    with pytest.raises(ValueError, match="differ in length"):
        Batches(x, torch.zeros(3))


# ----------------------------------------------------------------------------- the data command line

def test_data_command_line_summarises_or_explains(tiny_mnist, offline, capsys, monkeypatch, tmp_path):
    """``python -m course_utils data``: the data set's summary, or the error and exit status 2."""
    from course_utils.__main__ import main

    root, _ = tiny_mnist
    assert main(["data", "--dataset", "mnist", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Data(MNIST, pixels='gray', train=50, val=10, test=12)" in out
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "fresh-cache"))  # nothing decoded yet
    assert main(["data", "--dataset", "mnist", "--root", str(root.parent / "empty")]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: MNIST could not be downloaded") and "MNIST was not found" in out
    assert "COURSE_DATASET=fashion-mnist" in out
    assert main(["data", "--dataset", "cifar"]) == 2
    assert "Unknown data set 'cifar'" in capsys.readouterr().out


def test_data_command_line_as_a_process(tiny_mnist):
    import os
    import subprocess
    import sys

    root, _ = tiny_mnist
    env = {**os.environ, "COURSE_DATASET": "mnist", "COURSE_DATA_DIR": str(root)}
    proc = subprocess.run([sys.executable, "-m", "course_utils", "data"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Data(MNIST, pixels='gray', train=50, val=10, test=12)" in proc.stdout


def test_data_command_line_defaults_to_fashion_mnist(tmp_path, offline, capsys, monkeypatch):
    """``python -m course_utils data`` without --dataset and without COURSE_DATASET: the course's default."""
    from course_utils.__main__ import main

    fashion = tmp_path / "fashion"
    make_tiny_mnist(fashion, layout="flat")  # stands in for Debian's folder
    monkeypatch.setattr(D, "DEBIAN_FASHION_DIR", fashion)
    monkeypatch.delenv("COURSE_DATASET")
    assert main(["data"]) == 0
    assert "Data(Fashion-MNIST, pixels='gray', train=50, val=10, test=12)" in capsys.readouterr().out


# ----------------------------------------------------------------------------- uint8 storage (issue 21: memory)

@pytest.mark.parametrize("pixels", ["gray", "dynamic", "static"])
def test_splits_keep_uint8_pixels_and_give_the_float32_images_of_a_whole_set_conversion(tiny_mnist, offline, pixels):
    root, written = tiny_mnist
    d = D.load_data("mnist", pixels=pixels, root=root)
    raw = written["train_images"].reshape(60, -1)
    tr, va = D.split_indices(60)
    if pixels == "static":  # the draw made before uint8 storage: bernoulli of all float32 images, train then test
        gen = torch.Generator().manual_seed(D.STATIC_BINARIZATION_SEED)
        train_x = torch.bernoulli(raw.float().div_(255.0), generator=gen)
        test_x = torch.bernoulli(written["test_images"].reshape(12, -1).float().div_(255.0), generator=gen)
    else:
        train_x, test_x = raw.float().div_(255.0), written["test_images"].reshape(12, -1).float().div_(255.0)
    for split, expected in ((d.train, train_x[tr]), (d.val, train_x[va]), (d.test, test_x)):
        assert split.stored.dtype == torch.uint8 and split.stored.element_size() == 1  # a quarter of float32
        assert split.images.dtype == torch.float32 and torch.equal(split.images, expected)
        assert split.dim == 784 and len(split) == len(expected)
        assert torch.equal(split.rows(2, 7), expected[2:7])
        assert torch.equal(split.take(torch.tensor([4, 0, 4])), expected[[4, 0, 4]])
        assert torch.equal(split.subset(5).images, expected[:5]) and split.subset(5).stored.dtype == torch.uint8


def test_split_of_float_images_keeps_them_and_assignment_replaces_stored_pixels():
    x = torch.rand(10, 784)
    s = D.Split(x, torch.arange(10))
    assert s.images is x and s.stored is x and s.divisor is None  # no copy, no conversion
    s.images[0, 0] = 0.5
    assert x[0, 0] == 0.5
    u = D.Split(torch.zeros(10, 784, dtype=torch.uint8), torch.arange(10), divisor=255.0)
    u.images = x
    assert u.images is x and u.divisor is None
    with pytest.raises(ValueError, match="integer pixels"):
        D.Split(x, torch.arange(10), divisor=255.0)


@pytest.mark.parametrize("binarize", [False, True])
def test_split_batches_convert_per_batch_and_equal_batches_of_the_converted_images(binarize):
    g = torch.Generator().manual_seed(0)
    split = D.Split(torch.randint(0, 256, (1000, 784), generator=g, dtype=torch.uint8), torch.arange(1000), 255.0)
    a = Batches(split.images, split.labels, batch_size=129, seed=5, binarize=binarize)
    b = split.batches(with_labels=True, batch_size=129, seed=5, binarize=binarize)
    for _ in range(2):  # two epochs: the same permutations and binarization draws
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            assert xb.dtype == torch.float32 and len(xb) <= 129
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    images_only = next(iter(split.batches(batch_size=16, shuffle=False)))
    assert torch.equal(images_only, split.images[:16])
