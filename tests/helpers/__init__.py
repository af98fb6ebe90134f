"""Helpers shared by the test modules (importable because the root
conftest's folder is on ``sys.path``)."""
