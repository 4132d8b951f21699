"""JSON for CWL values that keeps how a YAML float was written.

cwltool prints a float that came from YAML (``1.23e5``, ``0.00001``) in decimal notation from its
original text, and a plain float with ``str()``. Job orders cross a process boundary here, so
``render_json`` writes such floats with their original text and ``parse_json(...,
yaml_floats=True)`` reads every float back as ruamel's ``ScalarFloat``: a command line then
looks exactly as cwltool's would.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

__all__ = ["parse_json", "plain_containers", "render_json"]

_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def render_json(value: Any) -> str:
    """Indented, key-sorted JSON; YAML floats keep their original text when it is valid JSON."""
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarfloat import ScalarFloat

    token = secrets.token_hex(8)
    raw: list[str] = []
    representer = RoundTripRepresenter()

    def convert(item: Any) -> Any:
        if isinstance(item, ScalarFloat):
            text = str(representer.represent_scalar_float(item).value)
            if _JSON_NUMBER.fullmatch(text):
                raw.append(text)
                return f"{token}:{len(raw) - 1}"
            return float(item)
        if isinstance(item, dict):
            return {str(k): convert(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [convert(v) for v in item]
        return item

    text = json.dumps(convert(value), indent=1, sort_keys=True, default=str) + "\n"
    if not raw:
        return text
    return re.sub(f'"{token}:([0-9]+)"', lambda m: raw[int(m[1])], text)


def parse_json(text: str, *, yaml_floats: bool = False) -> Any:
    """Parse JSON; with ``yaml_floats`` every float becomes a ``ScalarFloat`` (see above)."""
    if not yaml_floats:
        return json.loads(text)
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    return json.loads(text, parse_float=yaml.load)


def plain_containers(value: Any) -> Any:
    """``value`` with ruamel's commented maps and sequences made plain dicts and lists.

    Scalars are kept (a ``ScalarFloat`` keeps its text). cwltool deep-copies input objects many
    times per job; commented containers copy their comments and line data too, ~10x slower.
    """
    if isinstance(value, dict):
        return {k: plain_containers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_containers(v) for v in value]
    return value
