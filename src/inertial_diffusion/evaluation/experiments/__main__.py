"""``python -m inertial_diffusion.evaluation.experiments [--quick|--full] --out DIR``: the ``reproduce`` command."""

import sys

from inertial_diffusion.cli import main


def run() -> None:
    sys.argv = [sys.argv[0], "reproduce", *sys.argv[1:]]
    main()


if __name__ == "__main__":
    run()
