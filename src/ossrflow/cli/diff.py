"""``ossrflow diff``: what differs between two run records, the earliest possible cause first."""

from __future__ import annotations

import re
from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import echo_json, echo_table, json_option
from ossrflow.errors import VerificationFailed

__all__ = ["brief", "diff_command"]

_DIGEST = re.compile(r"\b([0-9a-f]{16})[0-9a-f]{48}\b")
TEXT_LINES = 40  # lines of a text difference shown (--json holds them all)


def brief(text: str) -> str:
    """Digests cut to 16 hex digits (the records hold them whole)."""
    return _DIGEST.sub(lambda m: m[1] + "…", text)


@click.command("diff")
@click.argument("run_a", metavar="RUN_A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="RUN_B", type=click.Path(path_type=Path))
@json_option("the differences")
def diff_command(run_a: Path, run_b: Path, as_json: bool) -> None:
    """Compare two run records: entries, inputs, workflow, versions, steps and outputs.

    RUN_A and RUN_B are run directories, crate folders or ro-crate-metadata.json files. The first
    line names what changed first: the earliest possible cause of every later difference. A
    small text file that differs (an output, or a file a step wrote) is shown as a unified diff
    under the table, when its bytes are still at hand (in the crate or the run folder). Exits
    0 when the runs' outputs are the same (other differences are still listed), 4 when they
    differ.

    \b
    Examples:
      ossrflow diff demo-run/run demo-run/run-rerun
      ossrflow diff demo-run/run/provenance demo-run/run-rerun/provenance --json
    """
    record_a, record_b = ossrflow.load_record(run_a), ossrflow.load_record(run_b)
    differences = ossrflow.diff_records(record_a, record_b)
    outputs = [d for d in differences if d.kind == "output"]
    texts = {d: ossrflow.text_difference(record_a, record_b, d) for d in differences}
    if as_json:
        echo_json(
            [
                {"kind": d.kind, "name": d.name, "a": d.before, "b": d.after, "text": texts[d]}
                for d in differences
            ]
        )
    elif not differences:
        click.echo("no differences: same entries, inputs, workflow, versions and outputs")
    else:
        first = differences[0]
        click.echo(
            f"first difference: {first.kind} {first.name}: {brief(first.before)} -> "
            f"{brief(first.after)}"
        )
        click.echo()
        rows = [(d.kind, d.name, brief(d.before), brief(d.after)) for d in differences]
        echo_table(["kind", "name", "RUN_A", "RUN_B"], rows, max_width=70)
        for lines in (lines for lines in texts.values() if lines):
            click.echo()
            for line in lines[:TEXT_LINES]:
                click.echo(line)
            if len(lines) > TEXT_LINES:
                click.echo(f"… {len(lines) - TEXT_LINES} more lines")
    if outputs:
        raise VerificationFailed(
            f"{len(outputs)} output file(s) differ between the runs",
            source=f"{run_a} {run_b}",
            hint="the first difference above names the earliest possible cause",
        )
