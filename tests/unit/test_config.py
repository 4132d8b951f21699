from pathlib import Path

import pytest

from ossrflow.config import DEFAULT_REGISTRY, EnvVars, Settings, resolve_settings
from ossrflow.errors import InputError


def test_defaults(tmp_path: Path):
    settings = resolve_settings({}, {}, tmp_path / "absent.toml")
    assert settings.registry == DEFAULT_REGISTRY
    assert settings.community == "escape2020"
    assert settings.offline is False
    assert settings.token is None


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('registry = "http://file/api"\ncommunity = "from-file"\ntimeout = 7\n')
    env = {EnvVars.REGISTRY: "http://env/api", EnvVars.OFFLINE: "yes"}
    settings = resolve_settings({"registry": "http://flag/api"}, env, config)
    assert settings.registry == "http://flag/api"
    assert settings.community == "from-file"
    assert settings.timeout == 7.0
    assert settings.offline is True
    assert resolve_settings({}, env, config).registry == "http://env/api"


def test_config_path_from_environment(tmp_path: Path):
    config = tmp_path / "c.toml"
    config.write_text(f'cache_dir = "{tmp_path / "cache"}"\n')
    settings = resolve_settings({}, {EnvVars.CONFIG: str(config)})
    assert settings.cache_dir == tmp_path / "cache"


def test_token_is_not_in_repr():
    assert "s3cret" not in repr(Settings(token="s3cret"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("registry = ", "invalid TOML"),
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ('timeout = "soon"\n', "timeout: 'soon' is not a valid float"),
        ("timeout = -1\n", "timeout -1.0 is not positive"),
    ],
)
def test_bad_config_file_is_one_located_line(tmp_path: Path, content, message):
    config = tmp_path / "config.toml"
    config.write_text(content)
    with pytest.raises(InputError, match=message):
        resolve_settings({}, {}, config)


def test_bad_env_value_names_the_variable(tmp_path: Path):
    with pytest.raises(InputError) as info:
        resolve_settings({}, {EnvVars.RETRIES: "many"}, tmp_path / "none.toml")
    assert str(info.value).startswith("$OSSRFLOW_RETRIES: retries: 'many' is not a valid int")


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("512K", 512 << 10), ("64G", 64 << 30), ("2TiB", 2 << 40), ("3 MB", 3 << 20)],
)
def test_download_limit_takes_bytes_or_units(tmp_path: Path, text: str, size: int):
    settings = resolve_settings({}, {EnvVars.MAX_DOWNLOAD_SIZE: text}, tmp_path / "none.toml")
    assert settings.max_download_size == size


def test_download_limits_from_the_config_file_and_their_defaults(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('max_download_size = "10G"\nparallel_downloads = 2\n')
    settings = resolve_settings({}, {}, config)
    assert (settings.max_download_size, settings.parallel_downloads) == (10 << 30, 2)
    default = resolve_settings({}, {}, tmp_path / "none.toml")
    assert (default.max_download_size, default.parallel_downloads) == (64 << 30, 8)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {EnvVars.MAX_DOWNLOAD_SIZE: "lots"},
            "$OSSRFLOW_MAX_DOWNLOAD_SIZE: max_download_size: 'lots' is not a valid size "
            "(fix: correct the value)",
        ),
        (
            {EnvVars.MAX_DOWNLOAD_SIZE: "0"},
            "max_download_size: max_download_size 0 is not positive (fix: give bytes > 0, e.g. 64G)",
        ),
        (
            {EnvVars.PARALLEL_DOWNLOADS: "500"},
            "parallel_downloads: parallel_downloads 500 is not between 1 and 64 (fix: give a "
            "number of downloads at a time, e.g. 8)",
        ),
    ],
)
def test_bad_download_limits_are_one_line(tmp_path: Path, env: dict[str, str], message: str):
    with pytest.raises(InputError) as info:
        resolve_settings({}, env, tmp_path / "none.toml")
    assert str(info.value) == message
