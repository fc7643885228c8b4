"""The infrastructure every other room builds on; nothing here knows about a model family.

What lives here:

- :mod:`~course_utils.core.runtime`     device, seeding, threads, quick mode, cache folder, training precision
- :mod:`~course_utils.core.storage`     atomic file writes, read-only-safe cache folders
- :mod:`~course_utils.core.checkpoints` safetensors checkpoints, the trained-model cache, resumable runs
- :mod:`~course_utils.core.data`        MNIST / Fashion-MNIST in memory, chosen in one place
- :mod:`~course_utils.core.batches`     the seeded batch iterator every training loop uses
- :mod:`~course_utils.core.training`    the model-agnostic epoch loop (hooks, budgets, Ctrl-C)
- :mod:`~course_utils.core.cpus`        sharing the CPUs between course processes computing at once
- :mod:`~course_utils.core.plots`       image grids and figure saving shared by every figure

What does not: models, losses and their figures (:mod:`course_utils.vae`,
:mod:`course_utils.gan`), the command lines (:mod:`course_utils.course`). This is the
lowest layer: it imports no other room of the package (``lint-imports`` checks it).
"""
from __future__ import annotations

from course_utils.core.batches import Batches
from course_utils.core.data import Data, DataError, load_data
from course_utils.core.plots import image_grid, save_figure, show_grid
from course_utils.core.runtime import (
    cache_dir,
    get_device,
    pick,
    quick_mode,
    seed_everything,
    set_threads,
    use_reference_models,
)
from course_utils.core.training import History, NonFiniteLossError, TrainingDiverged, fit

__all__ = [
    "Batches",
    "Data",
    "DataError",
    "History",
    "NonFiniteLossError",
    "TrainingDiverged",
    "cache_dir",
    "fit",
    "get_device",
    "image_grid",
    "load_data",
    "pick",
    "quick_mode",
    "save_figure",
    "seed_everything",
    "set_threads",
    "show_grid",
    "use_reference_models",
]
