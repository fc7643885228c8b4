"""course_utils: the tested code behind the deep generative models course.

Modules, one role each:

- :mod:`~course_utils.runtime`     device, seeding, threads, quick mode, cache folder
- :mod:`~course_utils.data`        MNIST / Fashion-MNIST in memory, chosen in one place
- :mod:`~course_utils.batches`     the seeded batch iterator every training loop uses
- :mod:`~course_utils.training`    the model-agnostic epoch loop (hooks, budgets, Ctrl-C)
- :mod:`~course_utils.checkpoints` safetensors checkpoints and the trained-model cache
- :mod:`~course_utils.storage`     atomic file writes, read-only-safe cache folders

Model code (VAE, GAN), estimators, figures, widgets and exercise checks live in
their own modules next to these.
"""
__version__ = "0.1.0"
