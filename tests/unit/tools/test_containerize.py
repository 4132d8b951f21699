"""Container recipes from codemeta: what is installed, the files written, the refusals."""

import json
import sys

import pytest

from ossrflow.errors import InputError, NotFound, ServiceError, UnsafeValue
from ossrflow.tools.containerize import (
    ContainerRecipe,
    ImageRecord,
    docker_requirement,
    load_image_record,
    plan_recipe,
    render_dockerfile,
    write_context,
)
from tests.support.wheels import CODEMETA, make_entry, make_wheel, wheelhouse

PIP = [sys.executable, "-m", "pip"]


def test_plan_takes_pip_style_requirements_and_reports_the_rest(tmp_path):
    recipe = plan_recipe(make_entry(tmp_path))
    assert recipe == ContainerRecipe(
        name="ossrflow-hello",
        version="1.0.0",
        package="ossrflow-hello",
        archive_key=None,
        requirements=("ossrflow-hello-dep>=0.1",),
        skipped=("A C++17 compiler",),
        runtime_platform=("Python 3",),
        base="ossrflow/debian-python:local",
        record="hello",
    )
    assert recipe.image == "ossrflow/ossrflow-hello:1.0.0"


def test_dockerfile_installs_from_the_build_context_only(tmp_path):
    text = render_dockerfile(plan_recipe(make_entry(tmp_path), base="ossrflow/py:test"))
    assert text == (
        "# Written by `ossrflow containerize` for ossrflow-hello 1.0.0; edit freely.\n"
        "# Builds need no network: wheels/ was filled on the host by `pip wheel`.\n"
        "FROM ossrflow/py:test\n"
        "COPY requirements.txt /tmp/ossrflow/requirements.txt\n"
        "COPY wheels/ /tmp/ossrflow/wheels/\n"
        "RUN python3 -m venv /opt/venv \\\n"
        " && /opt/venv/bin/pip install --no-cache-dir --no-index \\\n"
        "      --find-links /tmp/ossrflow/wheels -r /tmp/ossrflow/requirements.txt \\\n"
        " && rm -rf /tmp/ossrflow\n"
        "ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        'LABEL org.opencontainers.image.title="ossrflow-hello" \\\n'
        '      org.opencontainers.image.version="1.0.0" \\\n'
        '      org.ossrflow.record="hello"\n'
    )


def test_write_context_fills_wheels_and_writes_both_recipes(tmp_path):
    entry = make_entry(tmp_path)
    folder = write_context(
        plan_recipe(entry),
        tmp_path / "out" / "ossrflow-hello",
        entry,
        pip=PIP,
        pip_options=wheelhouse(tmp_path),
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gitignore",
        "Dockerfile",
        "apptainer.def",
        "requirements.txt",
        "wheels",
    ]
    assert sorted(p.name for p in (folder / "wheels").iterdir()) == [
        "ossrflow_hello-1.0.0-py3-none-any.whl",
        "ossrflow_hello_dep-0.2-py3-none-any.whl",
    ]
    assert (folder / "requirements.txt").read_text() == (
        "ossrflow-hello==1.0.0\nossrflow-hello-dep>=0.1\n"
    )
    assert (
        "Bootstrap: docker-daemon\nFrom: ossrflow/debian-python:local\n"
        in (folder / "apptainer.def").read_text()
    )
    assert (folder / ".gitignore").read_text() == "wheels/\nimage.json\n"


def test_archive_source_installs_the_records_own_wheel(tmp_path):
    wheel = make_wheel(tmp_path / "built", "ossrflow-hello", "1.0.0", module="m", source="")
    entry = make_entry(tmp_path, files={wheel.name: wheel.read_bytes()})
    recipe = plan_recipe(entry, source="archive")
    assert (recipe.package, recipe.archive_key) == (None, wheel.name)
    folder = write_context(
        recipe, tmp_path / "out", entry, pip=PIP, pip_options=wheelhouse(tmp_path)
    )
    assert (folder / "requirements.txt").read_text() == (
        f"/tmp/ossrflow/wheels/{wheel.name}\nossrflow-hello-dep>=0.1\n"
    )


def test_unknown_package_is_a_service_error_naming_the_fix(tmp_path):
    entry = make_entry(tmp_path, {**CODEMETA, "name": "no-such-package-here"})
    with pytest.raises(ServiceError) as info:
        write_context(
            plan_recipe(entry), tmp_path / "out", entry, pip=PIP, pip_options=wheelhouse(tmp_path)
        )
    message = str(info.value)
    assert message.startswith("pip: `pip wheel` could not get no-such-package-here==1.0.0: ")
    assert message.endswith(
        "(fix: check the package name (--package), version and softwareRequirements)"
    )


@pytest.mark.parametrize(
    ("changes", "package", "message"),
    [
        ({"softwareVersion": "latest"}, None, "softwareVersion 'latest' is not a plain version"),
        ({"name": "!!!"}, "hello", "codemeta name '!!!' gives no usable image name"),
        ({"name": "Two words"}, None, "'Two words' is not a PyPI project name"),
    ],
)
def test_bad_codemeta_values_are_refused_with_location(tmp_path, changes, package, message):
    entry = make_entry(tmp_path, {**CODEMETA, **changes})
    with pytest.raises(InputError, match=message) as info:
        plan_recipe(entry, package=package)
    assert str(info.value).startswith(str(entry.codemeta_path))


def test_archive_source_needs_an_archive(tmp_path):
    with pytest.raises(NotFound, match="record hello has no source archive or wheel"):
        plan_recipe(make_entry(tmp_path), source="archive")


def test_image_record_is_found_for_the_same_version_only(tmp_path):
    entry = make_entry(tmp_path)
    record = ImageRecord(
        "ossrflow/ossrflow-hello:1.0.0", "sha256:" + "1" * 64, "docker", "1.0.0", "b", None, ("x",)
    )
    folder = tmp_path / "containers" / "ossrflow-hello"
    folder.mkdir(parents=True)
    (folder / "image.json").write_text(json.dumps(record.to_json()))
    assert load_image_record(tmp_path / "containers", entry.require_codemeta()) == record
    assert docker_requirement(record) == {
        "class": "DockerRequirement",
        "dockerPull": "ossrflow/ossrflow-hello:1.0.0",
        "dockerImageId": "sha256:" + "1" * 64,
    }
    newer = make_entry(tmp_path / "v2", {**CODEMETA, "softwareVersion": "2.0"})
    assert load_image_record(tmp_path / "containers", newer.require_codemeta()) is None


def test_hostile_values_never_reach_the_recipe_files(tmp_path):
    entry = make_entry(
        tmp_path,
        {**CODEMETA, "softwareRequirements": ["numpy>=1\nRUN rm -rf /", "--index-url=http://x"]},
    )
    recipe = plan_recipe(entry)
    assert recipe.requirements == ()
    assert recipe.skipped == ("numpy>=1\nRUN rm -rf /", "--index-url=http://x")
    with pytest.raises(UnsafeValue, match="is not a plain image name"):
        plan_recipe(entry, base="debian\nRUN rm -rf /")
    with pytest.raises(InputError, match="is not a PyPI project name"):
        plan_recipe(entry, package="x\nRUN id")
