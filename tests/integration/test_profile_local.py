"""The profile contract on the local profile (always available)."""

from __future__ import annotations

from tests.integration.contract import ProfileContract


class TestLocalProfile(ProfileContract):
    __test__ = True
    profile_name = "local"
