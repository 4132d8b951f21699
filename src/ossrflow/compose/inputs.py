"""A definition's inputs: staged into the content store (held to the lock), checked, pinned.

:func:`stage_inputs` stages the files of every file and cart input in one session. With a lock,
a remote file is expected to have its pinned sha256; a Rucio dataset or container is staged
afresh and its files are then held to their pins by
:func:`~ossrflow.compose.pinning.verify_input_files`. A dataset or container gives one File per
file where the input is a list (``File[]``); a single ``location:`` (one ``File``) refuses it.
:func:`input_pin` is an input's entry in the lock (:mod:`ossrflow.compose.lock`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ossrflow.compose.definition import Definition, InputSpec
from ossrflow.compose.definition_reader import cart_error
from ossrflow.compose.entries import pin_for
from ossrflow.compose.lock import FilePin, InputPin, Lock, file_pin, path_pin
from ossrflow.errors import OssrflowError

if TYPE_CHECKING:
    import httpx

    from ossrflow.config import Settings
    from ossrflow.staging import StagedInput
    from ossrflow.staging.cart import CartItem
    from ossrflow.staging.rucio import RucioClient
    from ossrflow.transfer import ProgressCallback

__all__ = ["expected_items", "input_pin", "stage_inputs"]


def expected_items(items: tuple[CartItem, ...], pin: InputPin | None) -> list[CartItem]:
    """Items to stage; a lock's sha256 becomes the expected checksum of remote items without
    one (local files are read again, so that a changed file is reported, not replaced). A Rucio
    dataset is staged afresh: its files are checked against their pins once staged."""
    from ossrflow.integrity import Checksum

    groups = _pins_by_item(items, pin.files) if pin is not None else None
    if groups is None:
        return list(items)
    return [
        item
        if item.checksum or item.kind == "file" or len(pins) != 1 or pins[0].member_of
        else replace(item, checksum=Checksum("sha256", pins[0].sha256))
        for item, pins in zip(items, groups, strict=True)
    ]


def _pins_by_item(
    items: tuple[CartItem, ...], files: tuple[FilePin, ...]
) -> list[tuple[FilePin, ...]] | None:
    """The pins of each item: its file, or the files of the dataset it names (consecutive pins
    ``member_of`` it); None when the pins do not line up with the items."""
    groups, rest = [], files
    for item in items:
        take = 1
        if rest and rest[0].member_of is not None:
            if rest[0].member_of != item.location:
                return None
            take = next((i for i, f in enumerate(rest) if f.member_of != item.location), len(rest))
        if len(rest) < take:
            return None
        groups.append(rest[:take])
        rest = rest[take:]
    return None if rest else groups


def stage_inputs(
    definition: Definition,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    rucio: RucioClient | None = None,
    lock: Lock | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, tuple[StagedInput, ...]]:
    """Stage the files of every file and cart input into ``<cache dir>/store``, verified."""
    from ossrflow.staging import stage_items

    plan: dict[str, list[CartItem]] = {}
    for name, spec in definition.inputs.items():
        if spec.kind != "value":
            plan[name] = expected_items(
                spec.items,
                pin_for(definition, lock, "inputs", name, spec.where, settings.registry),
            )
    everything = [item for items in plan.values() for item in items]
    try:
        staged = iter(
            stage_items(everything, settings, client=client, rucio=rucio, progress=progress)
        )
    except OssrflowError as exc:
        raise _at_cart_line(exc, definition) from None
    found = {name: tuple(next(staged) for _ in items) for name, items in plan.items()}
    for name, inputs in found.items():
        _check_one_file(definition.inputs[name], inputs, definition)
    return found


def _check_one_file(
    spec: InputSpec, staged: tuple[StagedInput, ...], definition: Definition
) -> None:
    """A single ``location:`` is one File: refuse a Rucio dataset or container there."""
    collection = next((s for s in staged if s.members), None)
    if spec.many or collection is None:
        return
    origin = collection.origin
    what = f"a Rucio {origin.did_type.lower()}" if origin is not None else "a folder"
    raise definition.error(
        f"inputs.{spec.name}: {collection.item.location} is {what} of "
        f"{len(collection.members)} files, but a single location gives one File",
        spec.where,
        f"write the location as a list, location: [{collection.item.location}], "
        "to give its files as File[]",
    )


def _at_cart_line(exc: OssrflowError, definition: Definition) -> OssrflowError:
    """An error about a cart's item, located at the definition's ``inputs.X.cart`` line."""
    for name, spec in definition.inputs.items():
        names = (str(spec.cart), str(spec.cart.resolve())) if spec.cart is not None else ()
        if any(exc.source == n or str(exc.source).startswith(f"{n}:") for n in names):
            where = spec.cart_where or spec.where
            return cart_error(exc, f"inputs.{name}.cart", definition.source, where)
    return exc


def input_pin(spec: InputSpec, staged: tuple[StagedInput, ...], folder: Path) -> InputPin:
    """The pin of one input: its value, or one :class:`FilePin` per staged file (a Rucio
    dataset's files each, ``member_of`` the dataset) with the checksum its source publishes."""
    if spec.kind == "value":
        return InputPin("value", value=spec.value)
    cart = None
    if spec.kind == "cart" and spec.cart is not None:
        cart = path_pin(spec.cart, folder)
    files = tuple(
        file_pin(
            f.item,
            f.size,
            f.sha256.digest,
            folder,
            published=f.origin.checksums[0] if f.origin and f.origin.checksums else None,
            member_of=s.item.location if s.members else None,
        )
        for s in staged
        for f in s.files
    )
    return InputPin(spec.kind, files, cart)
