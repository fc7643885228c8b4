"""Command line: ``python -m course_utils {data,vae,gan} ...``.

Each subcommand's code lives in its own module; this file only dispatches, so
importing the package never parses arguments or touches data.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, help); each module defines add_arguments(parser) and run(args)
COMMANDS = {
    "data": ("course_utils.course.cli.data", "load (and, online, download) a data set; print its summary"),
    "vae": ("course_utils.course.cli.vae", "train or load the VAE; write its figures and metrics"),
    "gan": ("course_utils.course.cli.gan", "train or load the GAN; write its figures and metrics"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        try:
            modules[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        modules[name].add_arguments(p)
    args = parser.parse_args(argv)
    if args.command not in modules:
        parser.error(f"the {args.command!r} command is not available in this version")
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
