"""Importing this registers every guard, effect and selector the workflow definitions name."""
from app.services import (agreements, applications, attachments, calls, decisions, evaluation, grants,  # noqa: F401
                          notifications, questions, reporting, reviews)
