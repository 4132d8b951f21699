"""Test helpers shared by the suite (loopback servers, fixture data)."""
