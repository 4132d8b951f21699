"""What a failed job says: the cause cwltool saw, not only ``permanentFail``."""

from __future__ import annotations

import logging
from pathlib import Path

from ossrflow.errors import InputError, WorkflowFailed
from ossrflow.run.jobrecord import ToolLog, tool_failure


def test_an_ossrflow_error_that_cwltool_caught_is_the_cause(tmp_path: Path):
    tool_log = ToolLog()
    logger = logging.getLogger("tests.jobrecord")
    logger.addHandler(tool_log)
    logger.propagate = False
    refused = InputError("values are nested more than 128 levels deep", source="cwl.output.json")
    try:
        raise refused
    except InputError as err:  # what cwltool's job does with any exception: log it, fail
        logger.exception("Exception while running job: %s.", str(err), exc_info=False)
    logger.warning("[job %s] completed %s", "tool", "permanentFail")
    logger.removeHandler(tool_log)
    failed = WorkflowFailed("finished with status permanentFail", source="tool")
    assert tool_failure("step tool", tool_log, tmp_path / "job.log", failed) is refused


def test_without_such_an_error_the_failure_names_the_step(tmp_path: Path):
    failed = WorkflowFailed("finished with status permanentFail", source="tool")
    assert str(tool_failure("step tool", ToolLog(), tmp_path / "job.log", failed)) == (
        "step tool failed: finished with status permanentFail"
    )
