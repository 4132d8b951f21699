"""Matchmaking benchmark: do the entries a domain expert would pick come first?

Carts and the expert's picks are data (``benchmarks/match_data/carts.yml``); the registry is the
demo's (``workflows/registry``) plus ``benchmarks/match_data/entries/``, copied into a work
folder. Each cart's files are written there with the first bytes its ``bytes:`` names (``remote``
items are URLs: names only). For each cart the benchmark ranks the entries as ``ossrflow match``
does and reports whether the first candidate (top-1) or one of the first three (top-3) is an
expert pick; beside it, the same carts ranked the way matching worked before EDAM and sniffing
(names only, formats compared literally, ranked by share of items first) as a baseline.

Run ``python benchmarks/match_bench.py`` (``make bench`` runs it); ``--json FILE`` keeps the
results, ``--markdown`` prints the table for docs/match.md. Exit 0 always: a benchmark measures.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

import ossrflow

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "match_data"
FITS = (b"SIMPLE  =                    T".ljust(80) + b"END".ljust(80)).ljust(2880)
CONTENT: dict[str, bytes] = {
    "fits": FITS,
    "hdf5": b"\x89HDF\r\n\x1a\n" + b"\x00" * 504,
    "netcdf": b"CDF\x01" + b"\x00" * 28,
    "gzip": gzip.compress(b"t,flux\n1,2.5\n", mtime=0),
    "json": b'{"exposure": 30, "bands": ["V", "B"]}\n',
    "csv": b"t,flux\n1,2.5\n2,2.7\n3,2.6\n",
    "tsv": b"t\tflux\n1\t2.5\n2\t2.7\n",
    "text": b"Observing notes for the night of 2026-03-01. Seeing was fine.\n",
    "yaml": b"threshold: 5\nbands: [V, B]\n",
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("notes.txt", (1980, 1, 1, 0, 0, 0)), "notes")
    return buffer.getvalue()


CONTENT["zip"] = _zip()


@dataclass(frozen=True)
class Cart:
    name: str
    items: tuple[tuple[str, str], ...]  # (file name, bytes kind or "remote")
    expert: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    cart: Cart
    ranked: tuple[str, ...]  # refs, best first
    baseline: tuple[str, ...]

    def hit(self, ranked: Sequence[str], n: int) -> bool:
        return any(ref in self.cart.expert for ref in ranked[:n])


def load_carts(path: Path = DATA / "carts.yml") -> list[Cart]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return [
        Cart(
            c["name"],
            tuple((i["name"], i["bytes"]) for i in c["items"]),
            tuple(c["expert"]),
        )
        for c in data["carts"]
    ]


def make_registry(work: Path) -> Path:
    """The demo registry and the benchmark's entries, side by side in one folder registry."""
    registry = work / "registry"
    shutil.rmtree(registry, ignore_errors=True)
    for source in (REPO / "workflows" / "registry", DATA / "entries"):
        for entry in sorted(p for p in source.iterdir() if p.is_dir()):
            shutil.copytree(entry, registry / entry.name)
    return registry


def cart_items(cart: Cart, folder: Path) -> list[ossrflow.CartItem]:
    """The cart's items; local files get the first bytes the cart names."""
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for name, kind in cart.items:
        if kind == "remote":
            location = f"https://data.example.org/{name}"
        else:
            (folder / name).write_bytes(CONTENT[kind])
            location = str(folder / name)
        items.extend(ossrflow.match_data_items([location]))
    return items


# --- the baseline: matching as it was (names only, literal formats, share first) -------------


def _words(text: str | None) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", (text or "").lower()))


def _baseline_score(
    items: Sequence[ossrflow.CartItem], profile: ossrflow.EntryProfile
) -> tuple[float, int] | None:
    extensions = {Path(i.name).suffix.lstrip(".").lower() for i in items}
    keywords = sum(1 for k in profile.keywords if k.lower() in extensions)
    if profile.signature is None:
        return (0.0, keywords) if keywords else None
    best: tuple[float, int] | None = None
    for param in profile.signature.inputs.values():
        if param.type.base != "File":
            continue
        taken, score = 0, 0
        for item in items:
            extension = Path(item.name).suffix.lstrip(".").lower()
            if param.formats:
                points = (
                    (3 if len(param.formats) == 1 else 2) if item.format in param.formats else 0
                )
            else:
                points = 2 if extension and extension in _words(param.label) else 1
            taken, score = taken + bool(points), score + points
        if taken and (best is None or (taken, score) > best):
            best = (taken / len(items), score + keywords)
    return best


def baseline_rank(
    items: Sequence[ossrflow.CartItem], profiles: Sequence[ossrflow.EntryProfile]
) -> tuple[str, ...]:
    scored = [(_baseline_score(items, p), p.ref) for p in profiles]
    kept = [(score, ref) for score, ref in scored if score is not None]
    return tuple(ref for score, ref in sorted(kept, key=lambda x: (-x[0][0], -x[0][1], x[1])))


# --- the run -------------------------------------------------------------------------------


def run_benchmark(work: Path) -> list[Outcome]:
    registry = make_registry(work)
    settings = ossrflow.Settings(registry=f"dir:{registry}", cache_dir=work / "cache")
    profiles, refused, _ = ossrflow.profile_registry(settings)
    broken = [
        f"{p.ref}: {p.note}"
        for p in profiles
        if p.signature is None and (registry / p.ref / "ossrflow-interface.yml").exists()
    ]
    if refused or broken:
        raise SystemExit(f"benchmark entries refused: {'; '.join([*map(str, refused), *broken])}")
    outcomes = []
    for index, cart in enumerate(load_carts()):
        items = cart_items(cart, work / "data" / f"cart{index:02d}")
        candidates, _ = ossrflow.match_profiles(ossrflow.describe_items(items), profiles)
        named = [ossrflow.CartItem(i.name, i.location, format=i.format, kind="http") for i in items]
        outcomes.append(
            Outcome(cart, tuple(c.ref for c in candidates), baseline_rank(named, profiles))
        )
    return outcomes


def rates(outcomes: Sequence[Outcome]) -> dict[str, float]:
    total = len(outcomes) or 1
    return {
        "top1": sum(o.hit(o.ranked, 1) for o in outcomes) / total,
        "top3": sum(o.hit(o.ranked, 3) for o in outcomes) / total,
        "baseline_top1": sum(o.hit(o.baseline, 1) for o in outcomes) / total,
        "baseline_top3": sum(o.hit(o.baseline, 3) for o in outcomes) / total,
    }


def render(outcomes: Sequence[Outcome], *, markdown: bool) -> str:
    rows = [
        (
            o.cart.name,
            ", ".join(o.ranked[:3]) or "-",
            "yes" if o.hit(o.ranked, 1) else "no",
            "yes" if o.hit(o.ranked, 3) else "no",
            o.baseline[0] if o.baseline else "-",
        )
        for o in outcomes
    ]
    headers = ("cart", "first three", "top-1", "top-3", "baseline first")
    r = rates(outcomes)
    n = len(outcomes)
    summary = (
        f"top-1 hit rate {round(r['top1'] * n)}/{n} ({r['top1']:.0%}), "
        f"top-3 {round(r['top3'] * n)}/{n} ({r['top3']:.0%}); baseline (names only, literal "
        f"formats): top-1 {r['baseline_top1']:.0%}, top-3 {r['baseline_top3']:.0%}"
    )
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([*lines, "", summary])
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join([*lines, summary])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ossrflow-match-bench-") as tmp:
        work = args.work or Path(tmp)
        outcomes = run_benchmark(work)
    print(render(outcomes, markdown=args.markdown))
    if args.json:
        results = [
            {
                "cart": o.cart.name,
                "expert": list(o.cart.expert),
                "ranked": list(o.ranked),
                "baseline": list(o.baseline),
            }
            for o in outcomes
        ]
        args.json.write_text(json.dumps({"rates": rates(outcomes), "carts": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
