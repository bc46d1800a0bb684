"""``python -m inertial_diffusion.experiments [--quick|--full] --out DIR``: the ``reproduce`` command."""

import sys

from ..cli import main


def run() -> None:
    sys.argv = [sys.argv[0], "reproduce", *sys.argv[1:]]
    main()


if __name__ == "__main__":
    run()
