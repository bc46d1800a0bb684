"""``python -m inertial_diffusion``: the command line (the demo when no command is given)."""

from inertial_diffusion.cli import main

if __name__ == "__main__":
    main()
