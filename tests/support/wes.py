"""`ossrflow serve` for tests: a real server on 127.0.0.1 (in a thread, or as the CLI process),
users with API tokens, and a small WES client (httpx) to submit runs and wait for them.

    with WesService(tmp_path) as wes:                  # alice and bob, local facility
        run_id = wes.submit("alice", files={"tool.cwl": text}, workflow_url="tool.cwl",
                            workflow_params={"x": 1})
        wes.wait(run_id, "alice")                      # the final RunLog
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

import ossrflow
from ossrflow.serve.auth import new_token, token_line
from ossrflow.serve.config import Limits, ServeConfig, default_db_url, parse_profiles
from ossrflow.serve.server import Server

REPO = Path(__file__).resolve().parents[2]
FINAL = ("COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED")
BUSYBOX = "ossrflow/busybox:local"


def write_tokens(path: Path, users: Sequence[str]) -> dict[str, str]:
    """A tokens file for ``users``; returns {user: token}."""
    tokens = {user: new_token() for user in users}
    path.write_text("".join(token_line(u, t) + "\n" for u, t in tokens.items()), encoding="utf-8")
    path.chmod(0o600)
    return tokens


def make_config(
    folder: Path,
    *,
    tokens_file: Path | None,
    profiles: Sequence[str] = ("local",),
    **overrides: Any,
) -> ServeConfig:
    runs = folder / "runs"
    settings = overrides.pop("settings", None) or ossrflow.Settings(cache_dir=folder / "cache")
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "runs_dir": runs,
        "db_url": default_db_url(runs),
        "tokens_file": tokens_file,
        "oidc_issuer": None,
        "oidc_audience": None,
        "data_roots": (),
        "profiles": parse_profiles(profiles),
        "max_runs": 4,
        "allow_native": False,
        "settings": settings,
        "poll_seconds": 0.3,
    }
    values.update(overrides)
    return ServeConfig(**values)


def busybox_tool(command: str, *, inputs: str = "[]", outputs: str | None = None) -> str:
    """A CWL tool running ``sh -c COMMAND`` in busybox (inputs as positional ``$0``...)."""
    return f"""\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {{dockerPull: {BUSYBOX}}}
baseCommand: [sh, -c, {json.dumps(command)}]
inputs: {inputs}
stdout: out.txt
outputs: {outputs or "{out: stdout}"}
"""


def local_profile(folder: Path, container: str) -> Path:
    """A copy of the builtin local profile whose steps run in ``container`` only."""
    builtin = REPO / "profiles" / "local"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "ossrflow.yaml"):
        text = (builtin / name).read_text(encoding="utf-8")
        if name == "ossrflow.yaml":
            text = re.sub(r"(?m)^container:.*$", f"container: [{container}]", text)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@dataclass
class Client:
    """A WES client on ``url`` with one bearer token per user."""

    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0

    @property
    def wes(self) -> str:
        return f"{self.url}/ga4gh/wes/v1"

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def get(self, path: str, user: str | None = "alice", **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.wes}{path}"
        kwargs.setdefault("timeout", self.timeout)
        return httpx.get(url, headers=self.headers(user), **kwargs)

    def post(self, path: str, user: str | None = "alice", **kwargs: Any) -> httpx.Response:
        return httpx.post(
            f"{self.wes}{path}", headers=self.headers(user), timeout=self.timeout, **kwargs
        )

    def delete(self, path: str, user: str | None = "alice") -> httpx.Response:
        return httpx.delete(f"{self.wes}{path}", headers=self.headers(user), timeout=self.timeout)

    def submit_raw(
        self,
        user: str | None = "alice",
        *,
        files: Mapping[str, str | bytes] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        """POST /runs; dict/list field values are sent as JSON text."""
        data = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in fields.items()}
        data.setdefault("workflow_type", "CWL")
        data.setdefault("workflow_type_version", "v1.2")
        parts = [("workflow_attachment", (name, body)) for name, body in (files or {}).items()]
        return self.post("/runs", user, data=data, files=parts or None)

    def submit(self, user: str = "alice", **kwargs: Any) -> str:
        answer = self.submit_raw(user, **kwargs)
        assert answer.status_code == 200, answer.text
        run_id: str = answer.json()["run_id"]
        return run_id

    def state(self, run_id: str, user: str = "alice") -> str:
        answer = self.get(f"/runs/{run_id}/status", user)
        assert answer.status_code == 200, answer.text
        state: str = answer.json()["state"]
        return state

    def wait(
        self,
        run_id: str,
        user: str = "alice",
        *,
        states: Sequence[str] = FINAL,
        timeout: float = 240.0,
    ) -> dict[str, Any]:
        """Poll until the run is in one of ``states``; its RunLog."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state(run_id, user)
            if state in states:
                answer = self.get(f"/runs/{run_id}", user)
                log: dict[str, Any] = answer.json()
                return log
            if time.monotonic() > deadline:
                stderr = self.get(f"/runs/{run_id}/logs/stderr", user).text
                raise AssertionError(f"run {run_id} still {state} after {timeout} s:\n{stderr}")
            time.sleep(0.3)


class WesService(Client):
    """The service in a thread of this process, with users alice and bob."""

    def __init__(
        self,
        folder: Path,
        *,
        users: Sequence[str] = ("alice", "bob"),
        workdir: Path | None = None,
        container: str | None = None,
        **config: Any,
    ) -> None:
        """``container`` (docker, podman…): the local facility's only engine, in a copy of the
        builtin local profile, as an operator would set it."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        if container is not None:
            config["profiles"] = (f"local={local_profile(folder / 'local-profile', container)}",)
        self.tokens_file = folder / "tokens.txt"
        tokens = write_tokens(self.tokens_file, users)
        self.config = make_config(folder, tokens_file=self.tokens_file, **config)
        self.server = Server(self.config, workdir=workdir or REPO)
        super().__init__(self.server.url, tokens)

    def __enter__(self) -> WesService:
        self.server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server; kill the runs still going (a test leaves nothing running)."""
        self.server.app.state.service.manager.stop(kill_workers=True)
        self.server.stop()


@dataclass
class CliService:
    """``ossrflow serve …`` as a process of its own (for kill -9 and the listening line)."""

    process: subprocess.Popen[str]
    url: str
    stderr_path: Path

    @classmethod
    def start(
        cls, args: Sequence[str], *, cwd: Path, log: Path, timeout: float = 60.0
    ) -> CliService:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OSSRFLOW_")}
        env["OSSRFLOW_CONFIG"] = os.devnull
        with log.open("w", encoding="utf-8") as handle:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "ossrflow", "serve", *args],
                cwd=cwd,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=handle,
                text=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8")
            if match := re.search(r"^listening on (http://\S+)$", text, re.MULTILINE):
                return cls(process, match[1], log)
            if process.poll() is not None:
                raise AssertionError(f"ossrflow serve exited {process.returncode}:\n{text}")
            time.sleep(0.1)
        process.kill()
        raise AssertionError(f"ossrflow serve did not listen within {timeout} s")

    def kill(self) -> None:
        """``kill -9`` the server (only it: its workers lead sessions of their own)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


__all__ = [
    "BUSYBOX",
    "FINAL",
    "CliService",
    "Client",
    "Limits",
    "WesService",
    "busybox_tool",
    "local_profile",
    "make_config",
    "write_tokens",
]
