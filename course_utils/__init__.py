"""course_utils: the tested code behind the deep generative models course.

The package is a few rooms, one role each; a room imports only from the rooms
below it (``lint-imports`` checks this in the test command):

- :mod:`course_utils.course`      the course's machinery: shared runs, notebook tooling, student
  versions, the headless run, the command lines (top)
- :mod:`course_utils.exercises`   the checks students call on their solutions
- :mod:`course_utils.widgets`     the sliders students drag
- :mod:`course_utils.evaluation`  the classifier, the Fréchet distance, coverage, VAE vs GAN
- :mod:`course_utils.toys`        small exact models of the early notebooks (PPCA, the linear-Gaussian
  model, Gaussians and KL, the ELBO gap, gradient estimators, the 1-D GAN)
- :mod:`course_utils.vae`, :mod:`course_utils.gan`  the two image models: model, losses, training, figures
- :mod:`course_utils.core`        runtime, storage, checkpoints, data, batches, the training loop, plots (bottom)

Importing the package does nothing but define names: no arguments are parsed and no
data are touched until a function is called.
"""
__version__ = "0.1.0"
