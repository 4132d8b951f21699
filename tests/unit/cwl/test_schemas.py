"""The CWL schema cache: what a planner parsed, a job (a new process) loads instead of parsing,
schema-salad's metaschema included; a cache of another format is ignored, never an error."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

from ossrflow.cwl.schemas import load_schema_cache, save_schema_cache
from tests.conftest import DATA

# In a new process: load the cache, then report what cwltool and schema-salad would parse.
PROBE = """
import json, sys
from pathlib import Path
import schema_salad.schema
from cwltool.process import SCHEMA_CACHE
from ossrflow.cwl.schemas import load_schema_cache
loaded = load_schema_cache(Path(sys.argv[1]))
print(json.dumps({
    "loaded": loaded,
    "versions": sorted(SCHEMA_CACHE),
    "metaschema": schema_salad.schema.cached_metaschema is not None,
}))
"""


def probe(folder: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def parse_schemas() -> None:
    from cwltool.process import get_schema

    get_schema("v1.2")


def test_a_new_process_loads_the_schemas_and_the_metaschema(tmp_path: Path):
    from cwltool.process import SCHEMA_CACHE

    parse_schemas()
    path = save_schema_cache(tmp_path / "run")
    assert path.is_file()
    assert "v1.2" in SCHEMA_CACHE
    assert probe(tmp_path / "run") == {
        "loaded": True,
        "versions": sorted(SCHEMA_CACHE),
        "metaschema": True,
    }
    assert probe(tmp_path / "empty")["loaded"] is False


def test_schemas_loaded_from_one_cache_are_linked_into_another(tmp_path: Path):
    parse_schemas()
    first = save_schema_cache(tmp_path / "user")
    assert load_schema_cache(tmp_path / "user")
    second = save_schema_cache(tmp_path / "run" / ".ossrflow")
    assert second.read_bytes() == first.read_bytes()
    assert second.stat().st_ino == first.stat().st_ino  # one file, not a second pickle
    assert probe(tmp_path / "run" / ".ossrflow")["loaded"] is True


def test_a_cache_of_another_format_is_parsed_again(tmp_path: Path):
    parse_schemas()
    path = save_schema_cache(tmp_path / "first")
    stale = tmp_path / "stale" / path.name
    stale.parent.mkdir()
    stale.write_bytes(pickle.dumps({"v1.2": "an older layout"}))
    assert probe(tmp_path / "stale") == {"loaded": False, "versions": [], "metaschema": False}
    stale.write_bytes(b"not a pickle")
    assert probe(tmp_path / "stale")["loaded"] is False


# A tool whose input format only its own ontology ($schemas) defines, and a job for it.
FORMATTED = DATA / "cwl" / "formatted"

# In a new process: does the cache's v1.2 graph know the tool's ontology?
KNOWS = """
import sys
from pathlib import Path
from cwltool.process import SCHEMA_CACHE
from ossrflow.cwl.schemas import load_schema_cache
assert load_schema_cache(Path(sys.argv[1]))
graph = SCHEMA_CACHE["v1.2"][0].graph
print(any("example.org/formats" in str(subject) for subject in graph.subjects()))
"""


def knows_ontology(folder: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", KNOWS, str(folder)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "True"


def test_the_users_cache_never_holds_a_documents_ontology_the_run_folders_does(tmp_path: Path):
    from ossrflow.cwl.load import load_root

    tool, job = FORMATTED / "formatted.cwl", FORMATTED / "formatted-job.yml"
    load_root(str(tool), str(job), tmp_path / "user")
    save_schema_cache(tmp_path / "run")
    assert not knows_ontology(tmp_path / "user")  # later runs of other tools: no such formats
    assert knows_ontology(tmp_path / "run")  # this run's jobs check the format against it
