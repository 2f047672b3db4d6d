"""Rebuild the shipped catalogue, `lieux-auvergne-rhone-alpes.csv`, from its public source.

The source is `assets/data/source.json` in the npm package @gouvfr-anct/cartographie-nationale (ANCT's
national map client, Licence Ouverte 2.0): real places of Auvergne-Rhône-Alpes gathered by Hinaura, in the
v0.1 standard. This script installs one exact version of the package in a temporary folder, checks the file's
SHA-256, reads it with Passerelle's own importer (v0.1 → v1 mapping, checks, phone numbers), writes the result
as a v1.0.x CSV, and rewrites the generated block of catalogue/README.md with the counts.

    .venv/bin/python catalogue/build_default.py            # needs npm and the npm registry
    .venv/bin/python catalogue/build_default.py --from source.json   # an already downloaded copy

To move to a newer package version: change PACKAGE_VERSION, run with --accept-new-source once, read the
reported problems and the diff of the CSV, then set SOURCE_SHA256 to the digest it prints.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.places.catalogue.export import export_v1_csv  # noqa: E402
from bot.places.catalogue.importer import read_import  # noqa: E402

PACKAGE = "@gouvfr-anct/cartographie-nationale"
PACKAGE_VERSION = "5.22.0"
SOURCE_PATH = "assets/data/source.json"
SOURCE_SHA256 = "693486458c6163c717f02870ab951e8ea52b8911c95d0e8c6b0d794793c85c84"
SOURCE_NAME = "lieux-auvergne-rhone-alpes"  # the import's source name, and the CSV's
OUTPUT = HERE / f"{SOURCE_NAME}.csv"
README = HERE / "README.md"
BLOCK = re.compile(r"(<!-- build_default: start -->\n).*?(<!-- build_default: end -->)", re.S)


def fetch(tmp: Path) -> Path:
    subprocess.run(
        ["npm", "install", "--prefix", str(tmp), "--ignore-scripts", "--no-audit", "--no-fund",
         f"{PACKAGE}@{PACKAGE_VERSION}"],
        check=True,
    )
    return tmp / "node_modules" / PACKAGE / SOURCE_PATH


def build(source: Path, accept_new_source: bool) -> int:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256 and not accept_new_source:
        print(f"{source}: SHA-256 {digest}, expected {SOURCE_SHA256} (see the docstring to move to a new "
              "version)", file=sys.stderr)
        return 1
    batch = read_import([source], source=SOURCE_NAME)
    for problem in batch.problems:
        print(problem, file=sys.stderr)
    places = list(batch.places.values())
    written = export_v1_csv(places, OUTPUT)
    departments = collections.Counter(place.code_postal[:2] for place in places)
    lines = [
        f"- source: `{SOURCE_PATH}` of the npm package `{PACKAGE}@{PACKAGE_VERSION}` "
        f"(SHA-256 `{digest[:16]}…`), {batch.rows} rows in the v0.1 standard;",
        f"- written: {written} places ({batch.skipped} rows skipped, {len(batch.problems)} problems reported, "
        f"{batch.accepted - len(places)} repeated ids);",
        f"- with services: {sum(1 for p in places if p.services)}; with coordinates from the file: "
        f"{sum(1 for p in places if p.latitude is not None)}; \"à ma place\" (someone does the procedure for the "
        f"person): {sum(1 for p in places if p.assistance)}; with a phone number: "
        f"{sum(1 for p in places if p.telephone)};",
        "- by department: " + ", ".join(f"{dep} ({n})" for dep, n in sorted(departments.items())) + ".",
    ]
    text = README.read_text(encoding="utf-8")
    if BLOCK.search(text):
        README.write_text(BLOCK.sub(lambda m: m[1] + "\n".join(lines) + "\n" + m[2], text), encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {OUTPUT.relative_to(HERE.parent)}: {written} places", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="a local copy of source.json (no npm)")
    parser.add_argument("--accept-new-source", action="store_true", help="build even if the SHA-256 differs")
    args = parser.parse_args(argv)
    if args.source is not None:
        return build(args.source, args.accept_new_source)
    with tempfile.TemporaryDirectory(prefix="passerelle-catalogue-") as tmp:
        return build(fetch(Path(tmp)), args.accept_new_source)


if __name__ == "__main__":
    sys.exit(main())
