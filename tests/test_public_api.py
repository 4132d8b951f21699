"""The public surface is exactly `ossrflow.__all__`, and every name in it resolves."""

import ossrflow


def test_all_names_resolve():
    for name in ossrflow.__all__:
        assert getattr(ossrflow, name) is not None, name


def test_all_is_sorted_and_unique():
    names = [n for n in ossrflow.__all__ if n != "__version__"]
    assert names == sorted(set(names))


def test_unknown_name_raises_attribute_error():
    try:
        ossrflow.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
