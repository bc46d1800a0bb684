"""``python -m inertial_diffusion``: the demo."""

from inertial_diffusion.evaluation.demo import main

if __name__ == "__main__":
    main()
