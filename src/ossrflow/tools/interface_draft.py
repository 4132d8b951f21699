"""Draft an interface file from a program's ``--help`` (argparse and click output).

``query_help`` runs ``COMMAND --help`` (no shell, a timeout, stdin closed); ``parse_help`` reads
the usage line and option lines; ``render_interface_draft`` writes an ``ossrflow-interface.yml``
headed "DRAFT: review before use". The guesses: a flag is a ``boolean``; an option or positional
is ``int``/``float`` by its metavar, ``File``/``Directory`` by its name or metavar, an ``enum`` for
``{a,b}``/``[a|b]`` choices, else ``string``; options are optional unless click says
``[required]`` or argparse shows them outside brackets; an output-like name (``--output``,
``OUTDIR``...) becomes a string input plus an output globbing it; without one, stdout is captured.
A draft is never used silently: ``ossrflow cwl`` reads it only when given with ``--interface``.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from ossrflow.errors import InputError, NotFound, UnsafeValue
from ossrflow.integrity import atomic_write
from ossrflow.registry.codemeta import Codemeta
from ossrflow.tools.interface import DRAFT_MARK

__all__ = [
    "HelpArgument",
    "HelpOption",
    "HelpText",
    "draft_command",
    "draft_interface",
    "parse_help",
    "query_help",
    "render_interface_draft",
    "write_interface_draft",
]

_SKIP = {"-h", "--help", "--version", "-V", "--usage"}
_OPTION_LINE = re.compile(r"^\s{1,12}(-[^\s,/=]+.*?)(?:\s{2,}(\S.*))?$")
_PLAIN_COMMAND = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_METAVAR = re.compile(r"^(?:[A-Z][A-Z0-9_-]*|[{\[<(].*|[A-Z]+\[.*)$")
_OR_LINE = re.compile(r"^\s+or:\s")  # GNU: "  or:  sort [OPTION]... --files0-from=F"
_OUTPUT_NAMES = re.compile(r"^(o|out|output|outfile|output_file|outdir|output_dir|out_dir|dest)$")
_DIR_WORDS = re.compile(r"dir|folder|directory", re.IGNORECASE)
_FILE_WORDS = re.compile(r"file|path|input|fits|events", re.IGNORECASE)


@dataclass(frozen=True)
class HelpOption:
    """One option line: ``-o FILE, --output FILE  help``."""

    names: tuple[str, ...]
    metavar: str | None
    help: str
    required: bool = False

    @property
    def ident(self) -> str:
        long = next((n for n in self.names if n.startswith("--")), self.names[0])
        return _ident(long.lstrip("-"))


@dataclass(frozen=True)
class HelpArgument:
    """One positional argument from the usage line."""

    name: str
    repeated: bool = False
    optional: bool = False  # written in brackets: ``[FILE]...``

    @property
    def ident(self) -> str:
        return _ident(self.name.lower())


@dataclass(frozen=True)
class HelpText:
    """What ``--help`` says about a program's command line."""

    options: tuple[HelpOption, ...]
    arguments: tuple[HelpArgument, ...]
    description: str | None = None


# Input names that would read as the tool's streams (gzip's -c/--stdout is a flag, not a file):
# an input named ``stdout`` next to a captured-stdout output named the same is no valid tool.
_STREAM_NAMES = {"stdin": "from_stdin", "stdout": "to_stdout", "stderr": "to_stderr"}


def _ident(text: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    ident = ident if ident and not ident[0].isdigit() else f"arg_{ident}"
    return _STREAM_NAMES.get(ident, ident)


# --- running the program -------------------------------------------------------------------


def draft_command(codemeta: Codemeta | None, command: str | None) -> str:
    """The program to ask for help: ``command`` if given, else the codemeta ``executableName``."""
    if command:
        return command
    names = codemeta.executable_names if codemeta else ()
    if not names:
        raise InputError(
            "codemeta names no command (no targetProduct executableName)",
            source=codemeta.source if codemeta else None,
            hint="name the installed program with --command NAME",
        )
    if not _PLAIN_COMMAND.match(names[0]):
        raise UnsafeValue(
            f"executableName {names[0]!r} is not a plain command name",
            source=codemeta.source if codemeta else None,
            location="targetProduct.executableName",
            hint="name the installed program with --command NAME",
        )
    return names[0]


def query_help(command: str, *, timeout: float = 30.0) -> str:
    """Run ``command --help`` without a shell and return what it printed."""
    try:
        done = subprocess.run(
            [command, "--help"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise NotFound(
            f"command {command!r} is not installed or not on PATH",
            source=command,
            hint="install the entry, or pass --command PATH",
        ) from None
    except PermissionError:
        raise InputError(
            f"command {command!r} is not executable", source=command, hint="chmod +x it"
        ) from None
    except subprocess.TimeoutExpired:
        raise InputError(
            f"`{command} --help` did not finish within {timeout:g} s",
            source=command,
            hint="check the program, or raise --timeout",
        ) from None
    text = done.stdout if "usage" in done.stdout.lower() else done.stderr or done.stdout
    if "usage" not in text.lower():
        raise InputError(
            f"`{command} --help` printed no usage line (exit {done.returncode})",
            source=command,
            hint="write the interface file by hand (docs/cwlgen.md)",
        )
    return text


# --- parsing -------------------------------------------------------------------------------


def parse_help(text: str) -> HelpText:
    """Read argparse or click ``--help`` output; pure."""
    lines = text.expandtabs().splitlines()
    usage = _usage(lines)
    options = tuple(_options(lines))
    required = _unbracketed_options(usage)
    options = tuple(
        HelpOption(o.names, o.metavar, o.help, o.required or bool(required & set(o.names)))
        for o in options
    )
    return HelpText(options=options, arguments=_arguments(usage), description=_description(lines))


def _usage(lines: Sequence[str]) -> str:
    for index, line in enumerate(lines):
        if line.strip().lower().startswith("usage:"):
            parts = [line.strip()[len("usage:") :]]
            for more in lines[index + 1 :]:
                if not more.strip() or not more.startswith(" ") or _OR_LINE.match(more):
                    break
                parts.append(more.strip())
            words = " ".join(parts).split(maxsplit=1)
            return words[1] if len(words) > 1 else ""
    return ""


def _strip_brackets(usage: str) -> str:
    previous = None
    while previous != usage:
        previous, usage = usage, re.sub(r"\[[^\[\]]*\]", " ", usage)
    return usage


def _unbracketed_options(usage: str) -> set[str]:
    return {t for t in _strip_brackets(usage).split() if t.startswith("-")}


def _usage_groups(usage: str) -> list[tuple[list[str], bool, bool]]:
    """The usage line as ``(words, bracketed, repeated)`` groups, left to right: a word outside
    brackets is its own group; a top-level ``[...]`` is one group (``...`` inside or just after
    it makes it repeated)."""
    groups: list[tuple[list[str], bool, bool]] = []
    depth = 0
    words: list[str] = []
    for piece in re.findall(r"\[|\]|\.\.\.|[^\s\[\]]+?(?=\.\.\.|[\s\[\]]|$)", usage):
        if piece == "[":
            depth += 1
            if depth == 1:
                words = []
        elif piece == "]":
            depth = max(0, depth - 1)
            if depth == 0:
                groups.append((words, True, "..." in words))
        elif piece == "...":
            if depth:
                words.append(piece)
            elif groups:
                groups[-1] = (groups[-1][0], groups[-1][1], True)
        elif depth:
            words.append(piece)
        else:
            groups.append(([piece], False, False))
    return groups


def _positional(words: Sequence[str]) -> str | None:
    """The argument a usage group names, or None (an option, its metavar, choices, OPTION)."""
    names = [w for w in words if w != "..."]
    if len(names) != 1:
        return None
    name = names[0].rstrip(".")
    if not name or name.startswith(("-", "{")) or name.upper() in ("OPTION", "OPTIONS"):
        return None
    return name


def _arguments(usage: str) -> tuple[HelpArgument, ...]:
    """Positionals of the usage line, in order: required ones outside brackets, optional ones
    alone in brackets (GNU ``[FILE]...``); ``...`` (or ``[NAME ...]`` after NAME) repeats one."""
    found: dict[str, HelpArgument] = {}
    option = False  # the previous word outside brackets is an option: this one is its value
    for words, bracketed, repeated in _usage_groups(usage):
        after_option = option and not bracketed
        option = not bracketed and words[-1].startswith("-")
        name = None if after_option else _positional(words)
        if name is None:
            continue
        if name in found:  # "input_file [input_file ...]": the same argument, repeated
            found[name] = HelpArgument(name, True, found[name].optional)
        else:
            found[name] = HelpArgument(name, repeated, bracketed)
    return tuple(found.values())


def _options(lines: Sequence[str]) -> list[HelpOption]:
    """Option lines (``  -o FILE, --output FILE  help``) with their continuation lines."""
    found: list[tuple[str, list[str]]] = []
    open_option = False
    for line in lines:
        match = _OPTION_LINE.match(line)
        if match:
            found.append((match.group(1).strip(), [match.group(2) or ""]))
            open_option = True
        elif open_option and line.startswith("     ") and line.strip():
            found[-1][1].append(line.strip())
        else:
            open_option = False
    options = [_option(spec, help_lines) for spec, help_lines in found]
    return [o for o in options if not set(o.names) & _SKIP]


def _option(spec: str, help_lines: Sequence[str]) -> HelpOption:
    help_text = " ".join(" ".join(help_lines).split())
    if " / " in spec:  # click boolean pair: --flag / --no-flag
        return HelpOption(tuple(spec.split(" / ")[0].split(", ")), None, help_text)
    names: list[str] = []
    metavar = None
    forms = spec.split(", ")
    while len(forms) > 1 and not forms[-1].startswith("-"):  # ", but slower)": help text
        help_text = " ".join(f"{forms.pop()} {help_text}".split())
        forms[-1] += ","
    for form in forms:
        name, _, rest = form.replace("=", " ", 1).partition(" ")
        names.append(name)
        word, _, more = rest.strip().partition(" ")
        if word and not _METAVAR.match(word):  # "--synchronous synchronous output": help text
            help_text = " ".join(f"{rest} {help_text}".split())
        elif word:
            metavar = word if not more else rest.strip()
    return HelpOption(tuple(names), metavar, help_text, "[required]" in help_text)


def _description(lines: Sequence[str]) -> str | None:
    """The paragraph right after the usage block (argparse and click leave a blank line first,
    GNU programs do not); never option text or a section such as "Options:"."""
    for index, line in enumerate(lines):
        if not line.strip().lower().startswith("usage:"):
            continue
        rest = list(lines[index + 1 :])
        while rest and rest[0].startswith(" ") and rest[0].strip() and not _OR_LINE.match(rest[0]):
            rest.pop(0)  # the usage line's continuation
        while rest and (not rest[0].strip() or _OR_LINE.match(rest[0])):
            rest.pop(0)
        paragraph = []
        for text in rest:
            if not text.strip() or text.strip().endswith(":") or _OPTION_LINE.match(text):
                break
            paragraph.append(text.strip())
        return " ".join(paragraph) or None
    return None


# --- the draft -----------------------------------------------------------------------------


def _guess_type(name: str, metavar: str | None) -> object:
    hint = f"{name} {metavar or ''}"
    choices = re.fullmatch(r"\{(.+)\}|\[(.+)\]", metavar or "")
    if choices:
        symbols = re.split(r"[,|]", choices.group(1) or choices.group(2))
        return {"type": "enum", "symbols": [s.strip() for s in symbols]}
    upper = (metavar or "").upper()
    if upper in {"INTEGER", "INT", "N"}:
        return "int"
    if upper == "FLOAT":
        return "float"
    if _DIR_WORDS.search(hint):
        return "Directory"
    if _FILE_WORDS.search(hint):
        return "File"
    return "string"


def _optional(kind: object) -> object:
    return f"{kind}?" if isinstance(kind, str) else ["null", kind]


def _input_for_option(option: HelpOption) -> tuple[dict[str, object], dict[str, object] | None]:
    prefix = next((n for n in option.names if n.startswith("--")), option.names[0])
    spec: dict[str, object] = {"inputBinding": {"prefix": prefix}}
    if option.help:
        spec["doc"] = option.help
    if option.metavar is None:
        return {"type": "boolean?", **spec}, None
    if _OUTPUT_NAMES.match(option.ident):
        kind = "Directory" if _DIR_WORDS.search(option.ident + (option.metavar or "")) else "File"
        output: dict[str, object] = {
            "type": kind,
            "outputBinding": {"glob": f"$(inputs.{option.ident})"},
        }
        return {"type": "string", **spec}, output
    guess = _guess_type(option.ident, option.metavar)
    return {"type": guess if option.required else _optional(guess), **spec}, None


def _input_for_argument(
    argument: HelpArgument, position: int
) -> tuple[dict[str, object], dict[str, object] | None]:
    binding = {"position": position}
    if _OUTPUT_NAMES.match(argument.ident):
        kind = "Directory" if _DIR_WORDS.search(argument.ident) else "File"
        output: dict[str, object] = {
            "type": kind,
            "outputBinding": {"glob": f"$(inputs.{argument.ident})"},
        }
        return {"type": "string", "inputBinding": binding}, output
    guess = _guess_type(argument.ident, None)
    if argument.repeated:
        guess = f"{guess}[]" if isinstance(guess, str) else {"type": "array", "items": guess}
    return {"type": _optional(guess) if argument.optional else guess, "inputBinding": binding}, None


def _draft_document(help_text: HelpText, command: str) -> dict[str, object]:
    inputs: dict[str, object] = {}
    outputs: dict[str, object] = {}
    for position, argument in enumerate(help_text.arguments, start=1):
        spec, output = _input_for_argument(argument, position)
        inputs.setdefault(argument.ident, spec)
        if output:
            outputs[f"{argument.ident}_out"] = output
    for option in help_text.options:
        spec, output = _input_for_option(option)
        inputs.setdefault(option.ident, spec)
        if output:
            outputs[f"{option.ident}_out"] = output
    document: dict[str, object] = {"baseCommand": [command]}
    if help_text.description:
        document["doc"] = help_text.description
    document["inputs"] = inputs
    if not outputs:
        outputs["stdout"] = {"type": "stdout"}
        document["stdout"] = "stdout.txt"
    document["outputs"] = outputs
    return document


def render_interface_draft(help_text: HelpText, command: str) -> str:
    """An ``ossrflow-interface.yml`` draft for ``command``, headed "DRAFT: review before use"."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    stream = io.StringIO()
    stream.write(
        f"{DRAFT_MARK}\n"
        f"# Written by `ossrflow interface draft` from `{_one_line(command)} --help`.\n"
        "# The types are guesses: check File vs string, optional (?) vs required, and outputs.\n"
        "# Reference: docs/cwlgen.md (the interface file is a CWL CommandLineTool fragment).\n"
    )
    yaml.dump(_draft_document(help_text, command), stream)
    return stream.getvalue()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def draft_interface(
    codemeta: Codemeta | None, *, command: str | None = None, timeout: float = 30.0
) -> str:
    """Ask the entry's program (or ``command``) for ``--help`` and render a draft interface."""
    program = draft_command(codemeta, command)
    return render_interface_draft(parse_help(query_help(program, timeout=timeout)), program)


def write_interface_draft(text: str, path: Path) -> Path:
    """Write a rendered draft to ``path`` atomically."""
    return atomic_write(path, text)
