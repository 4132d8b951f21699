"""ossrflow: from OSSR software entries and shopping-cart data to reproducible CWL runs on Snakemake.

The public API is this module's ``__all__``; submodules are private unless named here. Names are
imported lazily, so ``import ossrflow`` (and ``ossrflow --help``) stays fast.

Verbs have one meaning each, everywhere:

- ``search_*``  text -> list of matches
- ``get_*``     identifier -> one typed object; raises ``NotFound``
- ``resolve_*`` DOI / concept DOI / reference -> a pinned version
- ``load_*``    file -> typed value, errors located as ``file:line:col``
- ``parse_*``   bytes/str/JSON -> typed value; pure, no I/O
- ``render_*``  typed value -> text;  ``write_*``: typed value -> file (atomically)
- ``verify_*``  raises on mismatch, returns nothing
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ChecksumMismatch": "ossrflow.errors",
    "InputError": "ossrflow.errors",
    "NotFound": "ossrflow.errors",
    "OssrflowError": "ossrflow.errors",
    "ServiceError": "ossrflow.errors",
    "UnsafeValue": "ossrflow.errors",
    "Unsupported": "ossrflow.errors",
    "VerificationFailed": "ossrflow.errors",
    "WorkflowFailed": "ossrflow.errors",
    "EnvVars": "ossrflow.config",
    "Settings": "ossrflow.config",
    "resolve_settings": "ossrflow.config",
    "RecordFile": "ossrflow.registry.model",
    "SearchResults": "ossrflow.registry.model",
    "SoftwareRecord": "ossrflow.registry.model",
    "parse_record": "ossrflow.registry.model",
    "Ref": "ossrflow.registry.refs",
    "parse_ref": "ossrflow.registry.refs",
    "Registry": "ossrflow.registry",
    "open_registry": "ossrflow.registry",
    "Entry": "ossrflow.entry",
    "get_entry": "ossrflow.entry",
    "Codemeta": "ossrflow.codemeta",
    "Person": "ossrflow.codemeta",
    "Requirement": "ossrflow.codemeta",
    "load_codemeta": "ossrflow.codemeta",
    "parse_codemeta": "ossrflow.codemeta",
    "ToolSpec": "ossrflow.toolspec",
    "load_interface": "ossrflow.toolspec",
    "load_shipped_cwl": "ossrflow.toolspec",
    "verify_cwl": "ossrflow.toolspec",
    "Conversion": "ossrflow.cwlgen",
    "GeneratedTool": "ossrflow.cwlgen",
    "generate_entry_tool": "ossrflow.cwlgen",
    "generate_registry_tools": "ossrflow.cwlgen",
    "generate_tool": "ossrflow.cwlgen",
    "load_crosswalk": "ossrflow.crosswalk",
    "render_tool": "ossrflow.cwlgen",
    "write_tool": "ossrflow.cwlgen",
    "draft_interface": "ossrflow.helpdraft",
    "write_interface_draft": "ossrflow.helpdraft",
    "CartItem": "ossrflow.cart",
    "load_cart": "ossrflow.cart",
    "parse_cart": "ossrflow.cart",
    "ContentStore": "ossrflow.store",
    "StagedInput": "ossrflow.staging",
    "stage": "ossrflow.staging",
    "write_job_inputs": "ossrflow.staging",
    "connect_rucio": "ossrflow.staging.rucio",
    "Definition": "ossrflow.definition",
    "load_definition": "ossrflow.definition",
    "Lock": "ossrflow.lock",
    "default_lock_path": "ossrflow.lock",
    "load_lock": "ossrflow.lock",
    "write_lock": "ossrflow.lock",
    "ComposedWorkflow": "ossrflow.compose",
    "Composition": "ossrflow.compose",
    "compose_workflow": "ossrflow.compose",
    "plan_composition": "ossrflow.compose",
    "Candidate": "ossrflow.match",
    "match_data_items": "ossrflow.match",
    "match_entries": "ossrflow.match",
    "Engine": "ossrflow.containers",
    "Mount": "ossrflow.containers",
    "detect_engines": "ossrflow.containers",
    "get_engine": "ossrflow.containers",
    "job_mounts": "ossrflow.containers",
    "render_run_command": "ossrflow.containers",
    "PinnedImage": "ossrflow.images",
    "convert_for_apptainer": "ossrflow.images",
    "resolve_image": "ossrflow.images",
    "Profile": "ossrflow.profiles",
    "load_profile": "ossrflow.profiles",
    "Progress": "ossrflow.execute",
    "RunOptions": "ossrflow.execute",
    "RunResult": "ossrflow.execute",
    "render_dry_run": "ossrflow.execute",
    "run_workflow": "ossrflow.execute",
    "ImageRecord": "ossrflow.containerize",
    "containerize_entry": "ossrflow.containerize",
    "docker_requirement": "ossrflow.containerize",
    "load_image_record": "ossrflow.containerize",
    "RunRecord": "ossrflow.provenance",
    "Tolerance": "ossrflow.provenance",
    "load_record": "ossrflow.provenance",
    "parse_tolerance": "ossrflow.provenance",
    "record_run": "ossrflow.provenance",
    "RerunResult": "ossrflow.rerun",
    "Verification": "ossrflow.rerun",
    "diff_records": "ossrflow.rerun",
    "verify_outputs": "ossrflow.rerun",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from ossrflow.cart import CartItem as CartItem
    from ossrflow.cart import load_cart as load_cart
    from ossrflow.cart import parse_cart as parse_cart
    from ossrflow.codemeta import Codemeta as Codemeta
    from ossrflow.codemeta import Person as Person
    from ossrflow.codemeta import Requirement as Requirement
    from ossrflow.codemeta import load_codemeta as load_codemeta
    from ossrflow.codemeta import parse_codemeta as parse_codemeta
    from ossrflow.compose import ComposedWorkflow as ComposedWorkflow
    from ossrflow.compose import Composition as Composition
    from ossrflow.compose import compose_workflow as compose_workflow
    from ossrflow.compose import plan_composition as plan_composition
    from ossrflow.config import EnvVars, Settings, resolve_settings
    from ossrflow.containerize import ImageRecord as ImageRecord
    from ossrflow.containerize import containerize_entry as containerize_entry
    from ossrflow.containerize import docker_requirement as docker_requirement
    from ossrflow.containerize import load_image_record as load_image_record
    from ossrflow.containers import Engine as Engine
    from ossrflow.containers import Mount as Mount
    from ossrflow.containers import detect_engines as detect_engines
    from ossrflow.containers import get_engine as get_engine
    from ossrflow.containers import job_mounts as job_mounts
    from ossrflow.containers import render_run_command as render_run_command
    from ossrflow.crosswalk import load_crosswalk as load_crosswalk
    from ossrflow.cwlgen import Conversion as Conversion
    from ossrflow.cwlgen import GeneratedTool as GeneratedTool
    from ossrflow.cwlgen import generate_entry_tool as generate_entry_tool
    from ossrflow.cwlgen import generate_registry_tools as generate_registry_tools
    from ossrflow.cwlgen import generate_tool as generate_tool
    from ossrflow.cwlgen import render_tool as render_tool
    from ossrflow.cwlgen import write_tool as write_tool
    from ossrflow.definition import Definition as Definition
    from ossrflow.definition import load_definition as load_definition
    from ossrflow.entry import Entry as Entry
    from ossrflow.entry import get_entry as get_entry
    from ossrflow.errors import (
        ChecksumMismatch,
        InputError,
        NotFound,
        OssrflowError,
        ServiceError,
        UnsafeValue,
        Unsupported,
        VerificationFailed,
        WorkflowFailed,
    )
    from ossrflow.execute import Progress as Progress
    from ossrflow.execute import RunOptions as RunOptions
    from ossrflow.execute import RunResult as RunResult
    from ossrflow.execute import render_dry_run as render_dry_run
    from ossrflow.execute import run_workflow as run_workflow
    from ossrflow.helpdraft import draft_interface as draft_interface
    from ossrflow.helpdraft import write_interface_draft as write_interface_draft
    from ossrflow.images import PinnedImage as PinnedImage
    from ossrflow.images import convert_for_apptainer as convert_for_apptainer
    from ossrflow.images import resolve_image as resolve_image
    from ossrflow.lock import Lock as Lock
    from ossrflow.lock import default_lock_path as default_lock_path
    from ossrflow.lock import load_lock as load_lock
    from ossrflow.lock import write_lock as write_lock
    from ossrflow.match import Candidate as Candidate
    from ossrflow.match import match_data_items as match_data_items
    from ossrflow.match import match_entries as match_entries
    from ossrflow.profiles import Profile as Profile
    from ossrflow.profiles import load_profile as load_profile
    from ossrflow.provenance import RunRecord as RunRecord
    from ossrflow.provenance import Tolerance as Tolerance
    from ossrflow.provenance import load_record as load_record
    from ossrflow.provenance import parse_tolerance as parse_tolerance
    from ossrflow.provenance import record_run as record_run
    from ossrflow.registry import Registry as Registry
    from ossrflow.registry import open_registry as open_registry
    from ossrflow.registry.model import RecordFile as RecordFile
    from ossrflow.registry.model import SearchResults as SearchResults
    from ossrflow.registry.model import SoftwareRecord as SoftwareRecord
    from ossrflow.registry.model import parse_record as parse_record
    from ossrflow.registry.refs import Ref as Ref
    from ossrflow.registry.refs import parse_ref as parse_ref
    from ossrflow.rerun import RerunResult as RerunResult
    from ossrflow.rerun import Verification as Verification
    from ossrflow.rerun import diff_records as diff_records
    from ossrflow.rerun import verify_outputs as verify_outputs
    from ossrflow.staging import StagedInput as StagedInput
    from ossrflow.staging import stage as stage
    from ossrflow.staging import write_job_inputs as write_job_inputs
    from ossrflow.staging.rucio import connect_rucio as connect_rucio
    from ossrflow.store import ContentStore as ContentStore
    from ossrflow.toolspec import ToolSpec as ToolSpec
    from ossrflow.toolspec import load_interface as load_interface
    from ossrflow.toolspec import load_shipped_cwl as load_shipped_cwl
    from ossrflow.toolspec import verify_cwl as verify_cwl


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ossrflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
