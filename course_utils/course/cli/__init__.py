"""The command lines ``python -m course_utils {data,vae,gan}``, one module each.

Each module defines ``add_arguments(parser)`` and ``run(args)``;
:mod:`course_utils.__main__` only dispatches. They orchestrate training *and*
evaluation (the GAN command scores its samples with the evaluation classifier), which
is why they live at the top, in :mod:`course_utils.course`.
"""
