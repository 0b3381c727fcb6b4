"""One module per aggregate; import them all here so metadata and Alembic see every table."""
from app.models.accounts import (ConflictOfInterest, LoginAttempt, LoginThrottle, Organisation, Organiser, User,
                                 user_organisers)
from app.models.applications import (
    Appeal,
    Application,
    Attachment,
    BudgetLine,
    CheckResult,
    Clarification,
    Decision,
)
from app.models.audit import AuditCheckpoint, AuditEvent
from app.models.awards import Grant, Payment, Recovery
from app.models.calls import Call, Check, Criterion, NumberCounter, RankingProtocol
from app.models.evaluation import Assignment, Score
from app.models.jobs import Document, Job, Message
from app.models.reporting import Report

__all__ = [
    "Appeal", "Application", "Assignment", "Attachment", "AuditCheckpoint", "AuditEvent", "BudgetLine", "Call",
    "Check", "CheckResult", "Clarification", "ConflictOfInterest", "Criterion", "Decision", "Document", "Grant",
    "Job", "LoginAttempt", "LoginThrottle", "Message", "NumberCounter", "Organisation", "Organiser", "Payment",
    "RankingProtocol", "Recovery", "Report", "Score", "User", "user_organisers",
]
