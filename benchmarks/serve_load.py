"""Load test of ``ossrflow serve`` on loopback: N concurrent submissions, none lost, and how fast
``GET /runs/{id}`` answers while they run.

    .venv/bin/python benchmarks/serve_load.py                      # 50 submissions at once
    .venv/bin/python benchmarks/serve_load.py --submissions 10 --max-runs 2 --json out.json
    .venv/bin/python benchmarks/serve_load.py --allow-native       # steps without containers

What happens: the service starts in this process (uvicorn on 127.0.0.1, a port of its own,
SQLite in the work folder, the local facility, ``--max-runs`` runs at once), one user with an API
token. ``--submissions`` threads each POST one run of a one-step workflow (busybox ``echo`` of
the run's own number, in Docker unless ``--allow-native``) at the same moment. While the runs
are queued and running, ``--probers`` threads GET ``/runs/{id}`` of random submitted runs in a
loop; each answer's latency is kept. When every run has ended (or ``--timeout`` passed) the
check: every submission got a distinct run id, the service lists exactly those runs, each is
COMPLETE and its output says its own number. Exit status 0 when all of that holds, else 1.

Printed: submissions accepted, POST latency (p50/p95/max), GET /runs/{id} latency under load
(p50/p95/max, number of probes and how many errored), the wall time to drain the queue and the
runs per minute. Nothing here is a target; docs/service.md quotes a run of it.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUSYBOX = "ossrflow/busybox:local"
FINAL = ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED")

__all__ = ["Latencies", "LoadResult", "main", "percentile", "render_report", "tool_document"]


def tool_document(containers: bool) -> str:
    """The one-step workflow every submission runs: echo its number."""
    docker = (
        f"requirements:\n  DockerRequirement: {{dockerPull: {BUSYBOX}}}\n" if containers else ""
    )
    return (
        "cwlVersion: v1.2\nclass: CommandLineTool\n" + docker + "baseCommand: echo\n"
        "inputs:\n  number: {type: int, inputBinding: {}}\nstdout: out.txt\n"
        "outputs: {out: stdout}\n"
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Latencies:
    """Seconds per request, and how many requests failed."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, float | int]:
        return {
            "count": len(self.seconds),
            "errors": self.errors,
            "p50_ms": round(1000 * percentile(self.seconds, 50), 1),
            "p95_ms": round(1000 * percentile(self.seconds, 95), 1),
            "max_ms": round(1000 * max(self.seconds, default=float("nan")), 1),
        }


@dataclass
class LoadResult:
    submissions: int
    accepted: int
    distinct_ids: int
    listed: int
    complete: int
    correct_outputs: int
    post: dict[str, float | int]
    get_run: dict[str, float | int]
    drain_seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def render_report(result: LoadResult, *, max_runs: int, containers: bool) -> str:
    """The printed summary."""
    post, get = result.post, result.get_run
    lines = [
        f"ossrflow serve load test: {result.submissions} concurrent submissions, "
        f"--max-runs {max_runs}, steps {'in docker' if containers else 'native'}",
        f"accepted {result.accepted}/{result.submissions}, distinct run ids "
        f"{result.distinct_ids}, listed {result.listed}, COMPLETE {result.complete}, "
        f"outputs right {result.correct_outputs}",
        f"POST /runs          p50 {post['p50_ms']} ms  p95 {post['p95_ms']} ms  "
        f"max {post['max_ms']} ms  ({post['count']} requests)",
        f"GET /runs/{{id}}      p50 {get['p50_ms']} ms  p95 {get['p95_ms']} ms  "
        f"max {get['max_ms']} ms  ({get['count']} requests, {get['errors']} errors)",
        f"all runs ended in {result.drain_seconds:.1f} s "
        f"({60 * result.submissions / max(result.drain_seconds, 1e-9):.1f} runs per minute)",
    ]
    lines += [f"PROBLEM: {problem}" for problem in result.problems] or ["none lost: OK"]
    return "\n".join(lines) + "\n"


class _Load:
    def __init__(self, url: str, token: str, tool: str) -> None:
        self.url = f"{url}/ga4gh/wes/v1"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tool = tool
        self.ids: list[str] = []
        self.lock = threading.Lock()
        self.post = Latencies()
        self.get = Latencies()
        self.done = threading.Event()

    def submit(self, number: int, start: threading.Barrier) -> str | None:
        data = {
            "workflow_type": "CWL",
            "workflow_type_version": "v1.2",
            "workflow_url": "tool.cwl",
            "workflow_params": json.dumps({"number": number}),
            "tags": json.dumps({"number": str(number)}),
        }
        files = [("workflow_attachment", ("tool.cwl", self.tool))]
        start.wait()
        began = time.perf_counter()
        try:
            answer = httpx.post(f"{self.url}/runs", data=data, files=files,
                                headers=self.headers, timeout=120)  # fmt: skip
        except httpx.HTTPError:
            answer = None
        elapsed = time.perf_counter() - began
        with self.lock:
            if answer is None or answer.status_code != 200:
                self.post.errors += 1
                return None
            self.post.seconds.append(elapsed)
            run_id: str = answer.json()["run_id"]
            self.ids.append(run_id)
            return run_id

    def probe(self, seed: int) -> None:
        chooser = random.Random(seed)  # noqa: S311 - picking runs, not secrets
        with httpx.Client(headers=self.headers, timeout=60) as client:
            while not self.done.is_set():
                with self.lock:
                    ids = list(self.ids)
                if not ids:
                    time.sleep(0.05)
                    continue
                began = time.perf_counter()
                try:
                    ok = client.get(f"{self.url}/runs/{chooser.choice(ids)}").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - began
                with self.lock:
                    if ok:
                        self.get.seconds.append(elapsed)
                    else:
                        self.get.errors += 1


def _states(client: httpx.Client, url: str, ids: Sequence[str]) -> dict[str, str]:
    states = {}
    for run_id in ids:
        states[run_id] = client.get(f"{url}/runs/{run_id}/status").json()["state"]
    return states


def _check(load: _Load, submissions: int, timeout: float) -> tuple[LoadResult, float]:
    began = time.monotonic()
    problems: list[str] = []
    with httpx.Client(headers=load.headers, timeout=60) as client:
        while True:
            states = _states(client, load.url, load.ids)
            if all(state in FINAL for state in states.values()):
                break
            if time.monotonic() - began > timeout:
                problems.append(f"runs still going after {timeout:.0f} s")
                break
            time.sleep(1.0)
        drained = time.monotonic() - began
        load.done.set()
        listed = client.get(f"{load.url}/runs", params={"page_size": 1000}).json()["runs"]
        correct = 0
        for run_id in load.ids:
            log = client.get(f"{load.url}/runs/{run_id}").json()
            number = log["request"]["workflow_params"]["number"]
            if log["state"] == "COMPLETE":
                text = client.get(log["outputs"]["out"]["location"]).text
                correct += text.strip() == str(number)
    listed_ids = {run["run_id"] for run in listed}
    complete = sum(1 for state in states.values() if state == "COMPLETE")
    if len(load.ids) != submissions:
        problems.append(f"{submissions - len(load.ids)} submissions were refused or failed")
    if len(set(load.ids)) != len(load.ids):
        problems.append("two submissions got the same run id")
    if listed_ids != set(load.ids):
        problems.append(f"GET /runs lists {len(listed_ids)} runs, {len(load.ids)} were submitted")
    if complete != len(load.ids) or correct != len(load.ids):
        problems.append(f"{complete} COMPLETE and {correct} right outputs of {len(load.ids)}")
    result = LoadResult(submissions, len(load.ids), len(set(load.ids)), len(listed_ids), complete,
                        correct, load.post.summary(), load.get.summary(), drained, problems)  # fmt: skip
    return result, drained


def run_load(args: argparse.Namespace) -> LoadResult:
    sys.path.insert(0, str(REPO / "src"))
    import ossrflow
    from ossrflow.serve.auth import new_token, token_line
    from ossrflow.serve.config import ServeConfig, default_db_url, parse_profiles
    from ossrflow.serve.server import Server

    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    token = new_token()
    (work / "tokens.txt").write_text(token_line("load", token) + "\n", encoding="utf-8")
    config = ServeConfig(
        host="127.0.0.1", port=0, runs_dir=work / "runs", db_url=default_db_url(work / "runs"),
        tokens_file=work / "tokens.txt", oidc_issuer=None, oidc_audience=None, data_roots=(),
        profiles=parse_profiles(["local"]), max_runs=args.max_runs,
        allow_native=args.allow_native, settings=ossrflow.Settings(cache_dir=work / "cache"),
    )  # fmt: skip
    server = Server(config, workdir=REPO).start()
    load = _Load(server.url, token, tool_document(not args.allow_native))
    try:
        probers = [threading.Thread(target=load.probe, args=(i,), daemon=True)
                   for i in range(args.probers)]  # fmt: skip
        for prober in probers:
            prober.start()
        start = threading.Barrier(args.submissions)
        with ThreadPoolExecutor(max_workers=args.submissions) as pool:
            list(pool.map(lambda n: load.submit(n, start), range(args.submissions)))
        result, _ = _check(load, args.submissions, args.timeout)
        load.done.set()
        for prober in probers:
            prober.join(timeout=60)
    finally:
        load.done.set()
        server.app.state.service.manager.stop(kill_workers=True)
        server.stop()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=50, help="runs submitted at once")
    parser.add_argument("--max-runs", type=int, default=4, help="the service's --max-runs")
    parser.add_argument("--probers", type=int, default=4, help="threads polling GET /runs/{id}")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to drain the queue")
    parser.add_argument("--allow-native", action="store_true", help="steps without containers")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "serve",
                        help="work folder (emptied first)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = run_load(args)
    print(render_report(result, max_runs=args.max_runs, containers=not args.allow_native), end="")
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
