"""The platform's case end to end: an ESAP shopping cart (the GUI basket form) fired at the
service with a workflow and a facility; the cart's items are staged (checksum-verified, like
`ossrflow stage CART --input-name images`) and become the workflow's File[] input."""

from __future__ import annotations

import hashlib
import json

import httpx

from tests.support.httpserver import LoopbackServer
from tests.support.wes import WesService, busybox_tool

SIZES = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  images: File[]
outputs:
  sizes:
    type: File[]
    outputSource: size/out
steps:
  size:
    run: size.cwl
    scatter: image
    in:
      image: images
    out: [out]
"""
SIZE = busybox_tool(
    'printf "%s %s\\n" "$(basename "$0")" "$(wc -c < "$0")"',
    inputs="{image: {type: File, inputBinding: {}}}",
)


def test_an_esap_cart_with_a_workflow_and_a_facility(
    docker_engine, http_server: LoopbackServer, tmp_path
):
    files = {"m67_B_001.fits": b"B" * 2880, "m67_V_001.fits": b"V" * 5760}
    for name, body in files.items():
        http_server.route(f"/vo/{name}", body=body)
    basket = [
        {"archive": "astron_vo", "record": {"url": f"{http_server.url}/vo/{name}", "name": name}}
        for name in files
    ]
    with WesService(tmp_path) as wes:
        run_id = wes.submit(
            files={"sizes.cwl": SIZES, "size.cwl": SIZE, "cart.json": json.dumps(basket)},
            workflow_url="sizes.cwl",
            workflow_engine_parameters={"profile": "local", "carts": {"images": "cart.json"}},
            tags={"esap_user": "jdoe"},
        )
        log = wes.wait(run_id)
        assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]
        assert log["request"]["workflow_engine_parameters"] == {
            "profile": "local",
            "carts": '{"images": "cart.json"}',
        }
        texts = [
            httpx.get(item["location"], headers=wes.headers("alice")).text
            for item in log["outputs"]["sizes"]
        ]
        assert texts == ["m67_B_001.fits 2880\n", "m67_V_001.fits 5760\n"]
        job = json.loads((wes.config.runs_dir / run_id / "job.json").read_text())
        staged = [item["location"] for item in job["images"]]
        store = wes.config.settings.cache_dir / "store"
        for location, body in zip(staged, files.values(), strict=True):
            assert location.startswith(f"file://{store}/sha256/")
            assert location.endswith(hashlib.sha256(body).hexdigest())
        stderr = wes.get(f"/runs/{run_id}/logs/stderr").text
        assert "[ossrflow] staging cart cart.json as input images" in stderr
