"""Run the benchmark suites and print their tables.

python -m bench                       # every suite, sizes 10k, 100k, 1M
python -m bench search --sizes 10000  # one suite, one size
"""

from __future__ import annotations

import argparse
import importlib

SUITES = (
    "foundation",
    "search",
    "detail",
    "admin",
    "quality",
    "analytics",
    "imports",
    "exports",
    "attacks",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", default=list(SUITES), choices=(*SUITES, []))
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated customer counts"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for name in args.suites:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"\n## {name}: not written yet")
            continue
        module.run(sizes)


if __name__ == "__main__":
    main()
