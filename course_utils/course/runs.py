"""The trained runs the course shares, defined once.

Notebooks 05, 07 and 08 and the benchmark scripts train (or load from the model
cache) the *same* models; their cache keys hold every setting and the data sizes,
so the settings must come from one place:

- :func:`vae_config` -- notebook 05's z = 20 VAE: :func:`course_utils.vae.model.full_config`
  (the course's recipe, chosen for training time: 90 epochs at batch 256, a cosine learning rate from 3e-3) in
  full mode, 2 epochs in quick mode. ``benchmarks/bench_vae.py`` reports its test ELBO and IW log-likelihood;
  notebook 08 and ``benchmarks/bench_gan.py`` score its samples.
- :func:`vae2_config` -- notebook 05's z = 2 VAE for the manifold (:data:`Z2_EPOCHS` epochs of ``full_config(2)``:
  its batch, peak rate and cosine decay).
- :func:`vae_data` -- the VAE's data (dynamically binarized; subsets in quick mode).
- :func:`gan_config`, :func:`classifier_config`, :func:`n_eval`, :data:`EVAL_SEED` --
  notebook 07's GAN (the assignment's networks, :data:`GAN_EPOCHS` epochs, sampled from a moving average of
  G), the evaluation classifier and the scored sample size.
- :func:`intro_data`, :func:`intro_vae_config`, :func:`usage_vae_config` -- the short VAE runs of
  notebooks 01, 02 (z = 2 and z = 20, 5 epochs) and 04 (z = 50, :data:`Z50_EPOCHS` epochs of ``full_config(50)``).

Every full-mode run here has a reference model shipped with the course
(:mod:`course_utils.reference`, trained by ``benchmarks/train_reference_models.py``), which the
notebooks load instead of training unless told to train here (``COURSE_TRAIN_HERE=1``); the evaluation classifier,
the yardstick, is loaded even then (:func:`~course_utils.evaluation.train_classifier`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

from course_utils.core import checkpoints
from course_utils.core.runtime import pick
from course_utils.evaluation.classifier import ClassifierConfig, accuracy, classifier_cache_key, train_classifier
from course_utils.evaluation.comparison import EVAL_SEED  # noqa: F401  (re-exported: the runs' evaluation seed)
from course_utils.evaluation.quality import sample_quality
from course_utils.gan.model import GANConfig, to_unit
from course_utils.gan.train import gan_cache_key, gan_reference_key, sample, train_gan
from course_utils.vae.model import VAEConfig, full_config
from course_utils.vae.train import evaluate_vae, train_vae, vae_cache_key, vae_reference_key


def vae_config() -> VAEConfig:
    """Notebook 05's z = 20 VAE: ``full_config(20)`` in full mode; 2 epochs (cosine) in quick mode."""
    return pick(full_config(20), VAEConfig(z_dim=20, epochs=2, lr_schedule="cosine"))


#: epochs of notebook 05's z = 2 model and notebook 04's z = 50 model in full mode, at full_config's batch 256 and
#: peak rate 3e-3 (``benchmarks/vae_recipes.py``, recipes z2-* and z50-*; ``vae_recipes.json``'s small_models; the
#: 2-core Intel Xeon, float32, Fashion-MNIST): over three seeds each, 12 epochs of z = 2 matched within the seeds'
#: spread the test ELBO of the 15 epochs at the assignment's batch 128 and rate 1e-3 it replaced (-264.88 against
#: -264.91) in about 22 s instead of about 35 s, and 15 epochs of z = 50 came within 0.21 nats of the 20 it replaced
#: (-240.62 against -240.41) in 32 s instead of 48 s
Z2_EPOCHS = 12
Z50_EPOCHS = 15


def vae2_config() -> VAEConfig:
    """Notebook 05's z = 2 VAE (the manifold of Q1.15): ``full_config(2)`` for :data:`Z2_EPOCHS` epochs (batch 256,
    peak rate 3e-3, cosine) in full mode; 2 epochs of the assignment's batch and rate (cosine) in quick mode."""
    return pick(full_config(2, epochs=Z2_EPOCHS), VAEConfig(z_dim=2, epochs=2, lr_schedule="cosine"))


def vae_data(data_dynamic):
    """The VAE's data: all images in full mode; 3 000 training and 1 000 validation images in quick mode."""
    return dataclasses.replace(data_dynamic, train=data_dynamic.train.subset(pick(None, 3000)),
                               val=data_dynamic.val.subset(pick(None, 1000)))


#: the GAN's recipe: the assignment's networks, losses and optimiser (``GANConfig()``), sampled from an
#: exponential moving average of G's weights (``benchmarks/gan_recipes.py``, 3 minutes of training per lever on
#: Fashion-MNIST: the one lever screened that alone lowered the Fréchet distance below the assignment's recipe's
#: best of three seeds, and it cut the speckle from about 3x real images' rate to about 1.2x)
GAN_EMA_DECAY = 0.999
#: full-mode epochs of that recipe (``benchmarks/results/seeds.json``: its Fréchet distance over 3 seeds)
GAN_EPOCHS = 20


def gan_config() -> GANConfig:
    """Notebook 07's GAN: ``GANConfig()`` (the assignment's) for :data:`GAN_EPOCHS` epochs on all 50 000 images,
    sampled from the moving average of G (``ema_decay`` :data:`GAN_EMA_DECAY`) in full mode; 3 epochs on 1 024
    images with a shorter average (decay 0.9: about the last 10 of its 48 steps) in quick mode."""
    return pick(GANConfig(epochs=GAN_EPOCHS, ema_decay=GAN_EMA_DECAY),
                GANConfig(epochs=3, train_size=1024, ema_decay=0.9))


def classifier_config() -> ClassifierConfig:
    """The evaluation classifier: ``ClassifierConfig()`` in full mode; 1 epoch on 5 000 images in quick mode."""
    return pick(ClassifierConfig(), ClassifierConfig(epochs=1, train_size=5000))


def n_eval() -> int:
    """Samples scored per model: the test set's 10 000 in full mode, 1 000 in quick mode."""
    return pick(10_000, 1000)


def intro_data(data_dynamic):
    """The data of the short VAE runs of notebooks 01, 02 and 04: all training and validation images in full
    mode; 3 000 training and 500 validation images in quick mode."""
    return dataclasses.replace(data_dynamic, train=data_dynamic.train.subset(pick(None, 3000)),
                               val=data_dynamic.val.subset(pick(None, 500)))


def intro_vae_config(z_dim: int) -> VAEConfig:
    """The short VAE runs of notebooks 01 (z = 20) and 02 (z = 2 and 20): 5 epochs, the assignment's other
    settings; 1 epoch in quick mode."""
    return VAEConfig(z_dim=z_dim, epochs=pick(5, 1))


def usage_vae_config() -> VAEConfig:
    """Notebook 04's VAE with 50 latent coordinates (which of them are used): ``full_config(50)`` for
    :data:`Z50_EPOCHS` epochs (batch 256, peak rate 3e-3, cosine) in full mode; 5 epochs of the assignment's batch
    and rate (cosine) in quick mode."""
    return pick(full_config(50, epochs=Z50_EPOCHS), VAEConfig(z_dim=50, epochs=5, lr_schedule="cosine"))


# --------------------------------------------------------------------------- the reference models

@dataclasses.dataclass(frozen=True)
class ReferenceRun:
    """A full-mode run the course ships a trained model of: its name, what it is, which notebooks load it,
    its kind (``"vae"``, ``"gan"``, ``"classifier"``), its config and its data (from the course's
    dynamically binarized and gray data sets)."""

    name: str
    title: str
    notebooks: tuple[str, ...]
    kind: str
    config: Callable
    data: Callable  # (data_dynamic, data_gray) -> Data

    def key(self, data) -> str:
        """The key the training function looks this run's reference model up by (full mode only: in quick
        mode the configs differ, and no reference model exists for them)."""
        return _KINDS[self.kind].reference_key(self.config(), data)

    def cache_key(self, data) -> str:
        """The key of this run in the model cache on this machine (with the precision it resolves to here)."""
        return _KINDS[self.kind].cache_key(self.config(), data)

    def modules(self, model) -> list:
        """The networks in what :meth:`train` returns (the VAE; generator and discriminator; the classifier)."""
        return _KINDS[self.kind].modules(model)

    def evaluate(self, model, data, classifier=None) -> dict:
        """The numbers the notebooks print of this run's model, computed as they compute them: a VAE's test
        ELBO (the 10 000 binarized test images), the GAN's Fréchet distance, precision and recall
        (:func:`n_eval` samples at :data:`EVAL_SEED`, features of ``classifier``), the classifier's test
        accuracy. ``model`` is what :meth:`train` returns."""
        if self.kind == "vae":
            vae = model[0]
            return {"test_elbo": round(evaluate_vae(vae, data.test, binarize=data.binarize, iw_k=0,
                                                    progress=False)["elbo"], 3)}
        if self.kind == "gan":
            images = to_unit(sample(model[0], n_eval(), seed=EVAL_SEED))
            quality = sample_quality(images, data, classifier)
            return {"fd": round(quality["fd"], 2), "precision": round(quality["precision"], 4),
                    "recall": round(quality["recall"], 4)}
        return {"test_accuracy": round(accuracy(model, data.test.images, data.test.labels), 4)}

    def train(self, data, train_here: bool = False):
        """Train the run (or load it: reference model, cache) as the notebooks do: ``(vae, history)``,
        ``(generator, discriminator, history)`` or the classifier. The classifier is loaded from the shipped one
        whatever the reference-model switch says, as in the notebooks, unless ``train_here`` (the training script
        passes it to train it again)."""
        if self.kind == "classifier":
            return train_classifier(data, self.config(), train_here=train_here)
        return _KINDS[self.kind].train(self.config(), data)


class _Kind(NamedTuple):
    """What a kind of run is keyed, trained and made of."""

    reference_key: Callable  # (config, data) -> the reference model's key (no precision in it)
    cache_key: Callable  # (config, data) -> the model-cache key on this machine
    train: Callable  # (config, data) -> what the training function returns
    modules: Callable  # that return value -> its networks


_KINDS = {
    "vae": _Kind(vae_reference_key, vae_cache_key, train_vae, lambda model: [model[0]]),
    "gan": _Kind(gan_reference_key, gan_cache_key, train_gan, lambda model: [model[0], model[1]]),
    # the classifier's key holds no precision: its cache key is its reference key (ReferenceRun.train trains it)
    "classifier": _Kind(classifier_cache_key, classifier_cache_key, None, lambda model: [model]),
}


#: every run the course ships a reference model of (``benchmarks/train_reference_models.py`` trains them)
REFERENCE_RUNS = (
    ReferenceRun("intro_vae_z20", "VAE z = 20, 5 epochs (notebooks 01 and 02)", ("01", "02"), "vae",
                 lambda: intro_vae_config(20), lambda dyn, gray: intro_data(dyn)),
    ReferenceRun("intro_vae_z2", "VAE z = 2, 5 epochs (notebook 02)", ("02",), "vae",
                 lambda: intro_vae_config(2), lambda dyn, gray: intro_data(dyn)),
    ReferenceRun("usage_vae_z50", f"VAE z = 50, {Z50_EPOCHS} epochs (notebook 04)", ("04",), "vae",
                 usage_vae_config, lambda dyn, gray: intro_data(dyn)),
    ReferenceRun("vae_z2", f"VAE z = 2, {Z2_EPOCHS} epochs (notebook 05's manifold)", ("05",), "vae",
                 vae2_config, lambda dyn, gray: vae_data(dyn)),
    ReferenceRun("vae_z20", f"VAE z = 20, {full_config(20).epochs} epochs (notebooks 05 and 08)", ("05", "08"), "vae",
                 vae_config, lambda dyn, gray: vae_data(dyn)),
    ReferenceRun("classifier", "evaluation classifier, 4 epochs (notebooks 07 and 08)", ("07", "08"),
                 "classifier", classifier_config, lambda dyn, gray: gray),
    ReferenceRun("gan", f"GAN, {GAN_EPOCHS} epochs, moving average of G (notebooks 07 and 08)", ("07", "08"), "gan",
                 gan_config, lambda dyn, gray: gray),
)


def reference_problems(data_dynamic, data_gray) -> list[str]:
    """Which runs have no shipped reference model for today's settings, one line each naming the script to
    run (empty: every reference model matches). Call in full mode."""
    index = checkpoints.reference_index()
    problems = []
    for run in REFERENCE_RUNS:
        key = run.key(run.data(data_dynamic, data_gray))
        if key not in index or not checkpoints.reference_path(key).is_file():
            shipped = [k for k, v in index.items() if v.get("name") == run.name]
            problems.append(f"{run.name}: no reference model for today's settings (key {key}; shipped: "
                            f"{', '.join(shipped) or 'none'}). Run `python {checkpoints.REFERENCE_SCRIPT} "
                            f"--only {run.name}` and commit course_utils/reference/.")
    return problems
