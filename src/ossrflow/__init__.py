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

from ossrflow._version import __version__

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
    "resolve_settings": "ossrflow.config",
    "Settings": "ossrflow.config",
    "ContentStore": "ossrflow.store",
    "open_registry": "ossrflow.registry",
    "Registry": "ossrflow.registry",
    "find_codemeta_key": "ossrflow.registry.model",
    "parse_record": "ossrflow.registry.model",
    "RecordFile": "ossrflow.registry.model",
    "SearchResults": "ossrflow.registry.model",
    "SoftwareRecord": "ossrflow.registry.model",
    "parse_ref": "ossrflow.registry.refs",
    "Ref": "ossrflow.registry.refs",
    "Entry": "ossrflow.registry.entry",
    "INTERFACE_KEYS": "ossrflow.registry.entry",
    "INTERFACE_KEY": "ossrflow.registry.deposit",
    "latest_version": "ossrflow.registry.deposit",
    "plan_new_version": "ossrflow.registry.deposit",
    "Published": "ossrflow.registry.deposit",
    "publish_new_version": "ossrflow.registry.deposit",
    "SANDBOX_API": "ossrflow.registry.deposit",
    "TOKEN_ENV": "ossrflow.registry.deposit",
    "VersionPlan": "ossrflow.registry.deposit",
    "get_entry": "ossrflow.registry.entry",
    "Codemeta": "ossrflow.registry.codemeta",
    "load_codemeta": "ossrflow.registry.codemeta",
    "parse_codemeta": "ossrflow.registry.codemeta",
    "Person": "ossrflow.registry.codemeta",
    "Requirement": "ossrflow.registry.codemeta",
    "load_interface": "ossrflow.tools.interface",
    "load_shipped_cwl": "ossrflow.tools.interface",
    "ToolSpec": "ossrflow.tools.interface",
    "verify_cwl": "ossrflow.tools.interface",
    "Conversion": "ossrflow.tools.cwlgen",
    "generate_entry_tool": "ossrflow.tools.cwlgen",
    "generate_registry_tools": "ossrflow.tools.cwlgen",
    "generate_tool": "ossrflow.tools.cwlgen",
    "GeneratedTool": "ossrflow.tools.cwlgen",
    "render_tool": "ossrflow.tools.cwlgen",
    "tool_document": "ossrflow.tools.cwlgen",
    "write_tool": "ossrflow.tools.cwlgen",
    "load_crosswalk": "ossrflow.tools.crosswalk",
    "draft_interface": "ossrflow.tools.interface_draft",
    "write_interface_draft": "ossrflow.tools.interface_draft",
    "containerize_entry": "ossrflow.tools.containerize",
    "docker_requirement": "ossrflow.tools.containerize",
    "ImageRecord": "ossrflow.tools.containerize",
    "load_image_record": "ossrflow.tools.containerize",
    "plan_recipe": "ossrflow.tools.containerize",
    "render_dockerfile": "ossrflow.tools.containerize",
    "CartItem": "ossrflow.staging.cart",
    "DataItem": "ossrflow.staging.sniff",
    "describe_items": "ossrflow.staging.sniff",
    "load_cart": "ossrflow.staging.cart",
    "parse_cart": "ossrflow.staging.cart",
    "stage": "ossrflow.staging",
    "stage_items": "ossrflow.staging",
    "StagedInput": "ossrflow.staging",
    "write_job_inputs": "ossrflow.staging",
    "connect_rucio": "ossrflow.staging.rucio",
    "is_cwl_document": "ossrflow.cwl.load",
    "quiet_cwltool": "ossrflow.cwl.load",
    "detect_engines": "ossrflow.containers.engines",
    "Engine": "ossrflow.containers.engines",
    "get_engine": "ossrflow.containers.engines",
    "job_mounts": "ossrflow.containers.engines",
    "Mount": "ossrflow.containers.engines",
    "render_run_command": "ossrflow.containers.engines",
    "convert_for_apptainer": "ossrflow.containers.images",
    "PinnedImage": "ossrflow.containers.images",
    "resolve_image": "ossrflow.containers.images",
    "Definition": "ossrflow.compose.definition",
    "load_definition": "ossrflow.compose.definition_reader",
    "default_lock_path": "ossrflow.compose.lock",
    "load_lock": "ossrflow.compose.lock",
    "Lock": "ossrflow.compose.lock",
    "lock_changes": "ossrflow.compose.lock",
    "lock_json": "ossrflow.compose.lock",
    "write_lock": "ossrflow.compose.lock",
    "compose_definition": "ossrflow.compose.composition",
    "compose_workflow": "ossrflow.compose.composition",
    "ComposedWorkflow": "ossrflow.compose.composition",
    "Composition": "ossrflow.compose.composition",
    "lock_definition": "ossrflow.compose.composition",
    "plan_composition": "ossrflow.compose.composition",
    "Relock": "ossrflow.compose.composition",
    "Candidate": "ossrflow.compose.match",
    "EntryProfile": "ossrflow.compose.match",
    "match_data_items": "ossrflow.compose.match",
    "match_entries": "ossrflow.compose.match",
    "match_profiles": "ossrflow.compose.match",
    "MatchResult": "ossrflow.compose.match",
    "profile_registry": "ossrflow.compose.match",
    "Skipped": "ossrflow.compose.match",
    "BUILTIN_PROFILES": "ossrflow.run.profiles",
    "load_profile": "ossrflow.run.profiles",
    "Profile": "ossrflow.run.profiles",
    "RunOptions": "ossrflow.run.options",
    "Progress": "ossrflow.run.snakemake",
    "render_dry_run": "ossrflow.run.execute",
    "run_workflow": "ossrflow.run.execute",
    "RunResult": "ossrflow.run.execute",
    "CRATE_DIR": "ossrflow.run.rundir",
    "default_run_dir": "ossrflow.run.rundir",
    "CommandFacts": "ossrflow.run.facts",
    "JobFacts": "ossrflow.run.facts",
    "read_job_facts": "ossrflow.run.facts",
    "verify_containerized": "ossrflow.run.policy",
    "parse_tolerance": "ossrflow.provenance.model",
    "RunRecord": "ossrflow.provenance.model",
    "Tolerance": "ossrflow.provenance.model",
    "load_record": "ossrflow.provenance.record",
    "list_run_jobs": "ossrflow.provenance.jobs",
    "RunJob": "ossrflow.provenance.jobs",
    "record_run": "ossrflow.provenance.record",
    "prepare_target": "ossrflow.provenance.runs",
    "RecordedRun": "ossrflow.provenance.runs",
    "run_and_record": "ossrflow.provenance.runs",
    "RunTarget": "ossrflow.provenance.runs",
    "diff_records": "ossrflow.provenance.compare",
    "Difference": "ossrflow.provenance.compare",
    "text_difference": "ossrflow.provenance.compare",
    "Verification": "ossrflow.provenance.compare",
    "verify_outputs": "ossrflow.provenance.compare",
    "default_rerun_dir": "ossrflow.provenance.rerun",
    "recorded_profile": "ossrflow.provenance.rerun",
    "rerun": "ossrflow.provenance.rerun",
    "RerunResult": "ossrflow.provenance.rerun",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from ossrflow.compose.composition import ComposedWorkflow as ComposedWorkflow
    from ossrflow.compose.composition import Composition as Composition
    from ossrflow.compose.composition import Relock as Relock
    from ossrflow.compose.composition import compose_definition as compose_definition
    from ossrflow.compose.composition import compose_workflow as compose_workflow
    from ossrflow.compose.composition import lock_definition as lock_definition
    from ossrflow.compose.composition import plan_composition as plan_composition
    from ossrflow.compose.definition import Definition as Definition
    from ossrflow.compose.definition_reader import load_definition as load_definition
    from ossrflow.compose.lock import Lock as Lock
    from ossrflow.compose.lock import default_lock_path as default_lock_path
    from ossrflow.compose.lock import load_lock as load_lock
    from ossrflow.compose.lock import lock_changes as lock_changes
    from ossrflow.compose.lock import lock_json as lock_json
    from ossrflow.compose.lock import write_lock as write_lock
    from ossrflow.compose.match import Candidate as Candidate
    from ossrflow.compose.match import EntryProfile as EntryProfile
    from ossrflow.compose.match import MatchResult as MatchResult
    from ossrflow.compose.match import Skipped as Skipped
    from ossrflow.compose.match import match_data_items as match_data_items
    from ossrflow.compose.match import match_entries as match_entries
    from ossrflow.compose.match import match_profiles as match_profiles
    from ossrflow.compose.match import profile_registry as profile_registry
    from ossrflow.config import EnvVars as EnvVars
    from ossrflow.config import Settings as Settings
    from ossrflow.config import resolve_settings as resolve_settings
    from ossrflow.containers.engines import Engine as Engine
    from ossrflow.containers.engines import Mount as Mount
    from ossrflow.containers.engines import detect_engines as detect_engines
    from ossrflow.containers.engines import get_engine as get_engine
    from ossrflow.containers.engines import job_mounts as job_mounts
    from ossrflow.containers.engines import render_run_command as render_run_command
    from ossrflow.containers.images import PinnedImage as PinnedImage
    from ossrflow.containers.images import convert_for_apptainer as convert_for_apptainer
    from ossrflow.containers.images import resolve_image as resolve_image
    from ossrflow.cwl.load import is_cwl_document as is_cwl_document
    from ossrflow.cwl.load import quiet_cwltool as quiet_cwltool
    from ossrflow.errors import ChecksumMismatch as ChecksumMismatch
    from ossrflow.errors import InputError as InputError
    from ossrflow.errors import NotFound as NotFound
    from ossrflow.errors import OssrflowError as OssrflowError
    from ossrflow.errors import ServiceError as ServiceError
    from ossrflow.errors import UnsafeValue as UnsafeValue
    from ossrflow.errors import Unsupported as Unsupported
    from ossrflow.errors import VerificationFailed as VerificationFailed
    from ossrflow.errors import WorkflowFailed as WorkflowFailed
    from ossrflow.provenance.compare import Difference as Difference
    from ossrflow.provenance.compare import Verification as Verification
    from ossrflow.provenance.compare import diff_records as diff_records
    from ossrflow.provenance.compare import text_difference as text_difference
    from ossrflow.provenance.compare import verify_outputs as verify_outputs
    from ossrflow.provenance.jobs import RunJob as RunJob
    from ossrflow.provenance.jobs import list_run_jobs as list_run_jobs
    from ossrflow.provenance.model import RunRecord as RunRecord
    from ossrflow.provenance.model import Tolerance as Tolerance
    from ossrflow.provenance.model import parse_tolerance as parse_tolerance
    from ossrflow.provenance.record import load_record as load_record
    from ossrflow.provenance.record import record_run as record_run
    from ossrflow.provenance.rerun import RerunResult as RerunResult
    from ossrflow.provenance.rerun import default_rerun_dir as default_rerun_dir
    from ossrflow.provenance.rerun import recorded_profile as recorded_profile
    from ossrflow.provenance.rerun import rerun as rerun
    from ossrflow.provenance.runs import RecordedRun as RecordedRun
    from ossrflow.provenance.runs import RunTarget as RunTarget
    from ossrflow.provenance.runs import prepare_target as prepare_target
    from ossrflow.provenance.runs import run_and_record as run_and_record
    from ossrflow.registry import Registry as Registry
    from ossrflow.registry import open_registry as open_registry
    from ossrflow.registry.codemeta import Codemeta as Codemeta
    from ossrflow.registry.codemeta import Person as Person
    from ossrflow.registry.codemeta import Requirement as Requirement
    from ossrflow.registry.codemeta import load_codemeta as load_codemeta
    from ossrflow.registry.codemeta import parse_codemeta as parse_codemeta
    from ossrflow.registry.deposit import INTERFACE_KEY as INTERFACE_KEY
    from ossrflow.registry.deposit import SANDBOX_API as SANDBOX_API
    from ossrflow.registry.deposit import TOKEN_ENV as TOKEN_ENV
    from ossrflow.registry.deposit import Published as Published
    from ossrflow.registry.deposit import VersionPlan as VersionPlan
    from ossrflow.registry.deposit import latest_version as latest_version
    from ossrflow.registry.deposit import plan_new_version as plan_new_version
    from ossrflow.registry.deposit import publish_new_version as publish_new_version
    from ossrflow.registry.entry import INTERFACE_KEYS as INTERFACE_KEYS
    from ossrflow.registry.entry import Entry as Entry
    from ossrflow.registry.entry import get_entry as get_entry
    from ossrflow.registry.model import RecordFile as RecordFile
    from ossrflow.registry.model import SearchResults as SearchResults
    from ossrflow.registry.model import SoftwareRecord as SoftwareRecord
    from ossrflow.registry.model import find_codemeta_key as find_codemeta_key
    from ossrflow.registry.model import parse_record as parse_record
    from ossrflow.registry.refs import Ref as Ref
    from ossrflow.registry.refs import parse_ref as parse_ref
    from ossrflow.run.execute import RunResult as RunResult
    from ossrflow.run.execute import render_dry_run as render_dry_run
    from ossrflow.run.execute import run_workflow as run_workflow
    from ossrflow.run.facts import CommandFacts as CommandFacts
    from ossrflow.run.facts import JobFacts as JobFacts
    from ossrflow.run.facts import read_job_facts as read_job_facts
    from ossrflow.run.options import RunOptions as RunOptions
    from ossrflow.run.policy import verify_containerized as verify_containerized
    from ossrflow.run.profiles import BUILTIN_PROFILES as BUILTIN_PROFILES
    from ossrflow.run.profiles import Profile as Profile
    from ossrflow.run.profiles import load_profile as load_profile
    from ossrflow.run.rundir import CRATE_DIR as CRATE_DIR
    from ossrflow.run.rundir import default_run_dir as default_run_dir
    from ossrflow.run.snakemake import Progress as Progress
    from ossrflow.staging import StagedInput as StagedInput
    from ossrflow.staging import stage as stage
    from ossrflow.staging import stage_items as stage_items
    from ossrflow.staging import write_job_inputs as write_job_inputs
    from ossrflow.staging.cart import CartItem as CartItem
    from ossrflow.staging.cart import load_cart as load_cart
    from ossrflow.staging.cart import parse_cart as parse_cart
    from ossrflow.staging.rucio import connect_rucio as connect_rucio
    from ossrflow.staging.sniff import DataItem as DataItem
    from ossrflow.staging.sniff import describe_items as describe_items
    from ossrflow.store import ContentStore as ContentStore
    from ossrflow.tools.containerize import ImageRecord as ImageRecord
    from ossrflow.tools.containerize import containerize_entry as containerize_entry
    from ossrflow.tools.containerize import docker_requirement as docker_requirement
    from ossrflow.tools.containerize import load_image_record as load_image_record
    from ossrflow.tools.containerize import plan_recipe as plan_recipe
    from ossrflow.tools.containerize import render_dockerfile as render_dockerfile
    from ossrflow.tools.crosswalk import load_crosswalk as load_crosswalk
    from ossrflow.tools.cwlgen import Conversion as Conversion
    from ossrflow.tools.cwlgen import GeneratedTool as GeneratedTool
    from ossrflow.tools.cwlgen import generate_entry_tool as generate_entry_tool
    from ossrflow.tools.cwlgen import generate_registry_tools as generate_registry_tools
    from ossrflow.tools.cwlgen import generate_tool as generate_tool
    from ossrflow.tools.cwlgen import render_tool as render_tool
    from ossrflow.tools.cwlgen import tool_document as tool_document
    from ossrflow.tools.cwlgen import write_tool as write_tool
    from ossrflow.tools.interface import ToolSpec as ToolSpec
    from ossrflow.tools.interface import load_interface as load_interface
    from ossrflow.tools.interface import load_shipped_cwl as load_shipped_cwl
    from ossrflow.tools.interface import verify_cwl as verify_cwl
    from ossrflow.tools.interface_draft import draft_interface as draft_interface
    from ossrflow.tools.interface_draft import write_interface_draft as write_interface_draft


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ossrflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
