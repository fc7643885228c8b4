"""``python -m course_utils data``: find or download (when online) and summarise a data set.

Without ``--dataset`` (and without ``COURSE_DATASET``) it is the course's default, Fashion-MNIST;
``--dataset mnist`` fetches MNIST.
"""
from __future__ import annotations

from course_utils.core.data import DataError, load_data


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default=None,
                        help="auto (the default: Fashion-MNIST, the data set of the reference numbers), "
                             "mnist or fashion-mnist")
    parser.add_argument("--root", default=None, help="a folder to look in first")


def run(args) -> int:
    try:
        data = load_data(args.dataset, pixels="gray", root=args.root)
    except DataError as exc:
        print(f"error: {exc}")
        return 2
    print(data)
    return 0
