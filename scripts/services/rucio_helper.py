#!/usr/bin/env python3
"""Helper of ossrflow's scripts/services/rucio.sh, run with the Rucio venv's Python.

rucio.sh copies this file into its state dir (lib/ossrflow_rucio.py) on every start and runs
that copy, so a running server never depends on the checkout.

  init-db                  schema, base VO and root account (RUCIO_CONFIG: the server's cfg)
  sync                     accounts, scopes, the RSE and its protocols, the test data, the
                           manifest (RUCIO_CONFIG: root's client cfg); idempotent
  corrupt DID, restore DID change, put back the bytes of the DID's replica on disk
  expire-tokens [ACCOUNT]  mark the account's (or every) auth token as expired in the database

Settings come from OSSRFLOW_RUCIO_* environment variables set by rucio.sh.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ENV = os.environ
# Rucio's WebDAV protocol never verifies the storage's certificate; nothing to be told about.
warnings.filterwarnings("ignore", message="Unverified HTTPS request")


def setting(name: str) -> str:
    return ENV[f"OSSRFLOW_RUCIO_{name}"]


# ---------------------------------------------------------------------------------------------
# the test data: deterministic bytes, named by DID
# ---------------------------------------------------------------------------------------------


def fits_card(key: str, value: object = None) -> bytes:
    if value is None:
        text = key
    elif isinstance(value, str):
        text = f"{key:<8}= '{value:<8}'"
    elif isinstance(value, bool):
        text = f"{key:<8}= {'T' if value else 'F':>20}"
    else:
        text = f"{key:<8}= {value:>20}"
    return text.ljust(80).encode("ascii")


def fits_image(seed: int, kind: str, side: int = 16) -> bytes:
    """A small valid FITS file: one 16-bit side x side image, no dates, same bytes every time."""
    cards = [
        fits_card("SIMPLE", True),
        fits_card("BITPIX", 16),
        fits_card("NAXIS", 2),
        fits_card("NAXIS1", side),
        fits_card("NAXIS2", side),
        fits_card("OBJECT", "M67"),
        fits_card("IMAGETYP", kind),
        fits_card("EXPTIME", 30.0 if kind == "light" else 0.0),
        fits_card("ORIGIN", "ossrflow test data"),
        fits_card("END"),
    ]
    header = b"".join(cards)
    header += b" " * (-len(header) % 2880)
    pixels = bytearray()
    for y in range(side):
        for x in range(side):
            pixels += ((1000 + (x * 7 + y * 13 + seed * 31) % 500) & 0xFFFF).to_bytes(2, "big")
    pixels += b"\0" * (-len(pixels) % 2880)
    return header + bytes(pixels)


def test_files(scope: str) -> dict[str, dict[str, bytes]]:
    """Dataset name -> {file name -> bytes}."""
    night = {
        "m67.night1.log.csv": b"exposure,object,imagetyp,exptime_s,airmass\n"
        + b"".join(
            f"m67.night1.exp{i:03d}.fits,M67,light,30.0,{1.10 + i * 0.05:.2f}\n".encode()
            for i in range(1, 4)
        ),
        "m67.night1.readme.txt": b"Night 1 on M67: three 30 s exposures and their observing log.\n"
        b"Test data of ossrflow's Rucio test server; the bytes never change.\n",
    }
    for i in range(1, 4):
        night[f"m67.night1.exp{i:03d}.fits"] = fits_image(i, "light")
    calib = {
        "m67.calib.bias.fits": fits_image(100, "bias"),
        "m67.calib.flat.fits": fits_image(200, "flat"),
    }
    bulk = {}
    for i in range(100):
        lines = "".join(f"{i:03d},{j},{(i * 37 + j * 11) % 101}\n" for j in range(5 + i % 7))
        bulk[f"bulk.part-{i:03d}.csv"] = f"part,row,value\n{lines}".encode()
    return {
        "m67.night1": night,
        "m67.calib": calib,
        "bulk.100files": bulk,
        "": {"standalone.bin": bytes(range(256)) * 4},  # a file in no dataset
    }


CONTAINERS = {"m67": ["m67.night1", "m67.calib"]}


def adler32(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


# ---------------------------------------------------------------------------------------------
# init-db
# ---------------------------------------------------------------------------------------------


def init_db(_: argparse.Namespace) -> None:
    from rucio.db.sqla.util import build_database, create_base_vo, create_root_account

    build_database()
    create_base_vo()
    create_root_account()
    # WAL lets the server's processes read while one writes (the mode stays with the file).
    with sqlite3.connect(setting("DB")) as con:
        con.execute("PRAGMA journal_mode=WAL")


# ---------------------------------------------------------------------------------------------
# sync
# ---------------------------------------------------------------------------------------------


def ensure_account(client: Any, account: str, username: str, password: str, scope: str) -> None:
    from rucio.common.exception import AccountNotFound, Duplicate

    try:
        client.get_account(account)
    except AccountNotFound:
        client.add_account(account, "USER", f"{account}@localhost")
        print(f"added account {account}")
    identities = {(i["type"], i["identity"]) for i in client.list_identities(account)}
    if ("USERPASS", username) not in identities:
        client.add_identity(
            account, username, "USERPASS", f"{account}@localhost", default=True, password=password
        )
        print(f"added userpass identity {username} of account {account}")
    try:
        client.add_scope(account, scope)
        print(f"added scope {scope} for account {account}")
    except Duplicate:
        pass


def wanted_protocols(rse: str) -> list[dict[str, Any]]:
    host = "127.0.0.1"
    # Priorities: 1 comes first; None (not 0, which sorts first) means "not for this operation".
    web = {"read": 1, "write": 1, "delete": 1}
    readonly = {"read": 2, "write": None, "delete": None}
    tpc = {"third_party_copy_read": 1, "third_party_copy_write": 1}
    no_tpc = {"third_party_copy_read": None, "third_party_copy_write": None}
    # NoRename: PUT straight to the final name; the Default implementation MOVEs a temporary
    # file and wants 201 where nginx answers 204.
    impl = "rucio.rse.protocols.webdav.NoRename"
    return [
        {  # WebDAV over https: rucio upload/download, list_replicas' first choice
            "scheme": "https",
            "hostname": host,
            "port": int(setting("WEB_PORT")),
            "prefix": f"/{rse}/",
            "impl": impl,
            "domains": {"lan": web, "wan": {**web, **tpc}},
        },
        {  # the same files over plain http, read only
            "scheme": "http",
            "hostname": host,
            "port": int(setting("HTTP_PORT")),
            "prefix": f"/{rse}/",
            "impl": impl,
            "domains": {"lan": readonly, "wan": {**readonly, **no_tpc}},
        },
    ]


def same_protocol(have: dict[str, Any], want: dict[str, Any]) -> bool:
    keys = ("scheme", "hostname", "port", "prefix", "impl")
    if any(have.get(k) != want[k] for k in keys):
        return False
    domains = have.get("domains") or {}
    return all(
        (domains.get(d) or {}).get(op) == value
        for d, ops in want["domains"].items()
        for op, value in ops.items()
    )


def ensure_rse(client: Any, rse: str) -> None:
    from rucio.common.exception import RSENotFound

    try:
        client.get_rse(rse)
    except RSENotFound:
        client.add_rse(rse, deterministic=True, rse_type="DISK")
        print(f"added RSE {rse}")
    wanted = wanted_protocols(rse)
    for have in client.get_rse(rse).get("protocols", []):
        if not any(same_protocol(have, want) for want in wanted):
            client.delete_protocols(rse, have["scheme"], have["hostname"], have["port"])
            print(f"removed protocol {have['scheme']}://{have['hostname']}:{have['port']}")
    present = client.get_rse(rse).get("protocols", [])
    for want in wanted:
        if not any(same_protocol(have, want) for have in present):
            client.add_protocol(rse, want)
            url = f"{want['scheme']}://{want['hostname']}:{want['port']}{want['prefix']}"
            print(f"added protocol {url}")
    for account in ("root", setting("USER_ACCOUNT")):
        client.set_local_account_limit(account, rse, 10**15)


def upload_missing(client: Any, rse: str, scope: str, files: dict[str, dict[str, bytes]]) -> None:
    from rucio.client.uploadclient import UploadClient

    seed = Path(setting("SEED_DIR"))
    seed.mkdir(parents=True, exist_ok=True)
    have = set(client.list_dids(scope, {"name": "*"}, did_type="file"))
    items = []
    for content in files.values():
        for name, data in content.items():
            if name in have:
                continue
            path = seed / name
            path.write_bytes(data)
            items.append(
                {
                    "path": str(path),
                    "rse": rse,
                    "did_scope": scope,
                    "did_name": name,
                    "register_after_upload": True,  # a failed upload leaves no catalogue entry
                }
            )
    if items:
        print(f"uploading {len(items)} files to {rse}")
        UploadClient(client).upload(items)


def ensure_collections(client: Any, scope: str, files: dict[str, dict[str, bytes]]) -> None:
    from rucio.common.exception import DataIdentifierNotFound

    def ensure(name: str, kind: str, children: list[str]) -> None:
        try:
            info = client.get_did(scope, name)
        except DataIdentifierNotFound:
            add = client.add_dataset if kind == "dataset" else client.add_container
            add(scope, name)
            print(f"added {kind} {scope}:{name}")
            info = client.get_did(scope, name)
        present = {c["name"] for c in client.list_content(scope, name)}
        missing = [{"scope": scope, "name": c} for c in children if c not in present]
        if missing:
            client.attach_dids(scope, name, missing)
            print(f"attached {len(missing)} DIDs to {scope}:{name}")
        if kind == "dataset" and info.get("open"):
            client.close(scope, name)  # complete: a facility closes a dataset once filled

    for dataset, content in files.items():
        if dataset:
            ensure(dataset, "dataset", sorted(content))
    for container, datasets in CONTAINERS.items():
        ensure(container, "container", datasets)


def pfn_path(pfn: str) -> str:
    return str(Path(setting("STORAGE")) / urlparse(pfn).path.lstrip("/"))


def write_manifest(client: Any, rse: str, scope: str, files: dict[str, dict[str, bytes]]) -> None:
    entries: dict[str, dict[str, Any]] = {}
    contents = {name: data for content in files.values() for name, data in content.items()}
    dids = [{"scope": scope, "name": name} for name in sorted(contents)]
    for replica in client.list_replicas(dids, schemes=["https", "http"]):
        name = replica["name"]
        pfns = {
            urlparse(p).scheme: p for p, info in replica["pfns"].items() if info.get("rse") == rse
        }
        data = contents[name]
        if (replica["bytes"], replica["adler32"], replica["md5"]) != (
            len(data),
            adler32(data),
            hashlib.md5(data, usedforsecurity=False).hexdigest(),  # Rucio's checksum
        ):
            sys.exit(
                f"error: Rucio's size or checksums of {scope}:{name} are not the uploaded ones"
            )
        entries[f"{scope}:{name}"] = {
            "scope": scope,
            "name": name,
            "type": "FILE",
            "bytes": replica["bytes"],
            "adler32": replica["adler32"],
            "md5": replica["md5"],
            "pfn": pfns["https"],
            "pfns": pfns,
            "path": pfn_path(pfns["https"]),
        }
    collections = [(d, "DATASET") for d in files if d] + [(c, "CONTAINER") for c in CONTAINERS]
    for name, kind in collections:
        members = sorted(f"{f['scope']}:{f['name']}" for f in client.list_files(scope, name))
        entry = {
            "scope": scope,
            "name": name,
            "type": kind,
            "bytes": sum(entries[m]["bytes"] for m in members),
            "adler32": None,
            "md5": None,
            "length": len(members),
            "files": members,
        }
        if kind == "CONTAINER":
            entry["children"] = sorted(f"{scope}:{c}" for c in CONTAINERS[name])
        entries[f"{scope}:{name}"] = entry
    manifest = {
        "rucio_host": setting("HOST"),
        "rse": rse,
        "scope": scope,
        "web_url": setting("WEB_URL"),
        "http_url": setting("HTTP_URL"),
        "dids": dict(sorted(entries.items())),
    }
    target = Path(setting("MANIFEST"))
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    partial.replace(target)
    print(f"manifest: {target} ({len(entries)} DIDs)")


def sync(_: argparse.Namespace) -> None:
    from rucio.client import Client
    from rucio.common.exception import Duplicate

    rse, scope = setting("RSE"), setting("SCOPE")
    client = Client()
    ensure_account(
        client,
        setting("USER_ACCOUNT"),
        setting("USER_USERNAME"),
        setting("USER_PASSWORD"),
        setting("USER_SCOPE"),
    )
    try:
        client.add_scope("root", scope)
        print(f"added scope {scope}")
    except Duplicate:
        pass
    ensure_rse(client, rse)
    files = test_files(scope)
    upload_missing(client, rse, scope, files)
    ensure_collections(client, scope, files)
    write_manifest(client, rse, scope, files)


# ---------------------------------------------------------------------------------------------
# corrupt / restore / expire-tokens
# ---------------------------------------------------------------------------------------------


def replica_path(did: str) -> Path:
    manifest = Path(setting("MANIFEST"))
    if manifest.exists():
        entry = json.loads(manifest.read_text())["dids"].get(did)
        if entry and entry["type"] == "FILE":
            return Path(entry["path"])
    from rucio.client import Client

    scope, _, name = did.partition(":")
    for replica in Client().list_replicas([{"scope": scope, "name": name}], schemes=["https"]):
        for pfn, info in replica["pfns"].items():
            if info.get("rse") == setting("RSE"):
                return Path(pfn_path(pfn))
    sys.exit(f"error: {did} has no replica on {setting('RSE')}")


def backup_of(did: str) -> Path:
    return Path(setting("BACKUP_DIR")) / did.replace("/", "%2F")


def corrupt(args: argparse.Namespace) -> None:
    path, backup = replica_path(args.did), backup_of(args.did)
    if not backup.exists():
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup)
    original = backup.read_bytes()
    if not original:
        sys.exit(f"error: {args.did} is empty: no byte to change")
    changed = bytes([original[0] ^ 0xFF]) + original[1:]  # same size, another adler32
    with path.open("r+b") as out:  # in place: same inode, same size
        out.write(changed)
    print(f"{path}: adler32 {adler32(original)} -> {adler32(changed)}")


def restore(args: argparse.Namespace) -> None:
    path, backup = replica_path(args.did), backup_of(args.did)
    if not backup.exists():
        print(f"{args.did} was not corrupted")
        return
    with path.open("r+b") as out:
        out.write(backup.read_bytes())
    backup.unlink()
    print(f"{path}: restored, adler32 {adler32(path.read_bytes())}")


def expire_tokens(args: argparse.Namespace) -> None:
    past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(hours=1)
    query, params = "UPDATE tokens SET expired_at = ?", [past.isoformat(sep=" ")]
    if args.account:
        query += " WHERE account = ?"
        params.append(args.account)
    with sqlite3.connect(setting("DB"), timeout=30) as con:
        count = con.execute(query, params).rowcount
    print(f"expired {count} token(s)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="ossrflow_rucio.py")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init-db").set_defaults(run=init_db)
    sub.add_parser("sync").set_defaults(run=sync)
    for name, run in (("corrupt", corrupt), ("restore", restore)):
        p = sub.add_parser(name)
        p.add_argument("did")
        p.set_defaults(run=run)
    p = sub.add_parser("expire-tokens")
    p.add_argument("account", nargs="?")
    p.set_defaults(run=expire_tokens)
    args = parser.parse_args()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    args.run(args)


if __name__ == "__main__":
    main()
