#!/usr/bin/env python3
"""A real click program (tests/data for `ossrflow interface draft`): bin an event list."""

import click


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False))
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("-n", "--bins", type=int, default=10, show_default=True, help="Number of bins.")
@click.option("--emin", type=float, required=True, help="Minimum energy in TeV.")
@click.option("--name", help="Run name.")
@click.option("--overwrite/--no-overwrite", default=False, help="Replace existing output.")
@click.option("--dry-run", is_flag=True, help="Only show what would be done.")
@click.option("--kind", type=click.Choice(["hist", "kde"]), help="Estimator.")
@click.option("--mask", type=click.Path(exists=True), help="Mask file.")
def main(events, outdir, bins, emin, name, overwrite, dry_run, kind, mask):
    """Bin the EVENTS list into histograms written to OUTDIR."""
    import pathlib

    values = [float(v) for v in pathlib.Path(events).read_text().split() if float(v) >= emin]
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.txt").write_text(f"{len(values)} events >= {emin} in {bins} bins\n")


if __name__ == "__main__":
    main()
