"""Tests against a real Arize Phoenix server (``make test-phoenix``); see ``conftest.py``."""
