"""Small real wheels made on the spot, so pip runs with --no-index against a local folder."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from ossrflow.config import Settings
from ossrflow.registry.entry import Entry, get_entry


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    module: str,
    source: str,
    requires: tuple[str, ...] = (),
    scripts: dict[str, str] | None = None,
) -> Path:
    """Write ``<name>-<version>-py3-none-any.whl`` with one module and optional console scripts."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = "".join(
        [
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            *(f"Requires-Dist: {r}\n" for r in requires),
        ]
    )
    files = {
        f"{module}.py": source.encode(),
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if scripts:
        lines = "".join(f"{script} = {target}\n" for script, target in scripts.items())
        files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    record = [_record_line(key, data) for key, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for key, data in files.items():
            archive.writestr(key, data)
    return path


HELLO = "def main():\n    print('hello from the container')\n"
CODEMETA = {
    "@context": "https://doi.org/10.5063/schema/codemeta-2.0",
    "@type": "SoftwareSourceCode",
    "name": "ossrflow-hello",
    "description": "A tiny package for container tests",
    "softwareVersion": "v1.0.0",
    "runtimePlatform": "Python 3",
    "softwareRequirements": ["ossrflow-hello-dep>=0.1", "python>=3.9", "A C++17 compiler"],
}


def make_entry(
    tmp_path: Path, codemeta: dict[str, Any] | None = None, files: dict[str, bytes] | None = None
) -> Entry:
    """A folder-registry entry with this codemeta (and files), got as ossrflow gets entries."""
    folder = tmp_path / "registry" / "hello"
    folder.mkdir(parents=True)
    (folder / "codemeta.json").write_text(json.dumps(codemeta or CODEMETA))
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    return get_entry(f"dir:{folder}", Settings(cache_dir=tmp_path / "cache"))


def wheelhouse(tmp_path: Path) -> list[str]:
    """Local wheels of ossrflow-hello 1.0.0 and its dependency; pip options that use only them."""
    house = tmp_path / "wheelhouse"
    make_wheel(
        house,
        "ossrflow-hello",
        "1.0.0",
        module="ossrflow_hello",
        source=HELLO,
        requires=("ossrflow-hello-dep>=0.1",),
        scripts={"ossrflow-hello": "ossrflow_hello:main"},
    )
    make_wheel(house, "ossrflow-hello-dep", "0.2", module="ossrflow_hello_dep", source="")
    return ["--no-index", "--find-links", str(house)]
