"""The relay tests use the `relay`, `api` and `tail` fixtures of tests/conftest.py."""
