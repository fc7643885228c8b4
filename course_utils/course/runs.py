"""The trained runs the course shares, defined once.

Notebooks 05, 07 and 08 and the benchmark scripts train (or load from the model
cache) the *same* models; their cache keys hold every setting and the data sizes,
so the settings must come from one place:

- :func:`vae_config` -- notebook 05's z = 20 VAE: :func:`course_utils.vae.model.full_config`
  (the tuned recipe, 100 epochs with a cosine learning rate) in full mode, 2 epochs in
  quick mode. ``benchmarks/bench_vae.py`` reports its test ELBO and IW log-likelihood;
  notebook 08 and ``benchmarks/bench_gan.py`` score its samples.
- :func:`vae2_config` -- notebook 05's z = 2 VAE for the manifold (15 epochs, cosine).
- :func:`vae_data` -- the VAE's data (dynamically binarized; subsets in quick mode).
- :func:`gan_config`, :func:`classifier_config`, :func:`n_eval`, :data:`EVAL_SEED` --
  notebook 07's GAN, the evaluation classifier and the scored sample size.
"""
from __future__ import annotations

import dataclasses

from course_utils.core.runtime import pick
from course_utils.evaluation.classifier import ClassifierConfig
from course_utils.evaluation.comparison import EVAL_SEED  # noqa: F401  (re-exported: the runs' evaluation seed)
from course_utils.gan.model import GANConfig
from course_utils.vae.model import VAEConfig, full_config


def vae_config() -> VAEConfig:
    """Notebook 05's z = 20 VAE: ``full_config(20)`` in full mode; 2 epochs (cosine) in quick mode."""
    return pick(full_config(20), VAEConfig(z_dim=20, epochs=2, lr_schedule="cosine"))


def vae2_config() -> VAEConfig:
    """Notebook 05's z = 2 VAE (the manifold of Q1.15): 15 epochs with the cosine rate; 2 in quick mode."""
    return VAEConfig(z_dim=2, epochs=pick(15, 2), lr_schedule="cosine")


def vae_data(data_dynamic):
    """The VAE's data: all images in full mode; 3 000 training and 1 000 validation images in quick mode."""
    return dataclasses.replace(data_dynamic, train=data_dynamic.train.subset(pick(None, 3000)),
                               val=data_dynamic.val.subset(pick(None, 1000)))


def gan_config() -> GANConfig:
    """Notebook 07's GAN: the engine's ``GANConfig()`` (30 epochs on all 50 000 images) in full mode;
    3 epochs on 1 024 images in quick mode."""
    return pick(GANConfig(), GANConfig(epochs=3, train_size=1024))


def classifier_config() -> ClassifierConfig:
    """The evaluation classifier: ``ClassifierConfig()`` in full mode; 1 epoch on 5 000 images in quick mode."""
    return pick(ClassifierConfig(), ClassifierConfig(epochs=1, train_size=5000))


def n_eval() -> int:
    """Samples scored per model: the test set's 10 000 in full mode, 1 000 in quick mode."""
    return pick(10_000, 1000)
