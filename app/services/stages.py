"""Importing this registers every guard, effect and selector the workflow definitions name."""
from app.services import applications, calls, decisions, evaluation, grants, reporting  # noqa: F401
