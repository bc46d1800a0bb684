"""``python -m inertial_diffusion``: the demo."""

from .demo import main

if __name__ == "__main__":
    main()
