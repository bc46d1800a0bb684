"""How IDM compares on real data (issue 11, point 6): TSTR on tabular sets, Fashion-MNIST fidelity vs novelty.

    python benchmarks/real_data.py --quick            # wine + breast cancer, 1 seed; 2 Fashion-MNIST classes
    python benchmarks/real_data.py                    # breast cancer, wine, digits x 3 seeds; 10 classes
    python benchmarks/real_data.py --part tabular     # only the TSTR table (cheap)
    python benchmarks/real_data.py --out DIR          # CSVs, real_data.md and the frontier figure (default: a temp dir)

Prints the Markdown tables (the README's "How IDM compares on real data"), the seconds of each part and
``uptime`` before and after (the machine is shared: times are indicative, the tables are not timings).
Everything is offline: scikit-learn's bundled sets and Debian's ``dataset-fashion-mnist`` (images skipped
without it). See :mod:`inertial_diffusion_studies.real_data` for the protocol.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inertial_diffusion_studies.presets import PRESETS
from inertial_diffusion_studies.real_data import render_real_data, run_real_data


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny preset (about a minute)")
    parser.add_argument("--part", choices=("all", "tabular", "images"), default="all")
    parser.add_argument("--out", type=Path, default=None, help="folder for the CSVs, real_data.md and the figure")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    preset = PRESETS["quick" if args.quick else "full"].real
    if args.part == "tabular":
        preset = dataclasses.replace(preset, image_classes=())
    elif args.part == "images":
        preset = dataclasses.replace(preset, tabular_sets=())
    out = args.out or Path(tempfile.mkdtemp(prefix="real_data_"))
    print(f"# preset {preset.name}, part {args.part}; before: {_uptime()}", flush=True)
    start = time.perf_counter()
    tables = run_real_data(preset, out, say=lambda m: print(f"[{time.perf_counter() - start:7.1f} s]{m}", flush=True))
    print()
    print(render_real_data(tables))
    for name, table in tables.items():
        print(f"{name}: {len(table.rows)} rows, {table.seconds:.0f} s")
    print(f"# total {time.perf_counter() - start:.0f} s; after: {_uptime()}; files in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
