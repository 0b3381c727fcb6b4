"""One module per aggregate; import them all here so metadata and Alembic see every table."""
from app.models.accounts import (ConflictOfInterest, Invitation, LoginAttempt, LoginThrottle, Organisation, Organiser,
                                 PasswordResetRequest, RecoveryCode, User, user_organisers)
from app.models.applications import (
    Appeal,
    Application,
    Attachment,
    BudgetLine,
    CheckResult,
    Clarification,
    Decision,
)
from app.models.agreements import AgreementSignature, AgreementVersion
from app.models.attachments import ApplicationFile, AttachmentType
from app.models.audit import AuditCheckpoint, AuditEvent
from app.models.drafts import KeptDraft
from app.models.awards import Grant, Payment, PaymentBatch, PaymentBatchItem, Recovery
from app.models.calls import Call, Check, CostCategory, Criterion, NumberCounter, RankingProtocol
from app.models.evaluation import Assignment, ConsensusNote, ReviewReminder, Score
from app.models.evaluators import CallEvaluator, EvaluatorAffiliation
from app.models.jobs import Document, Job, Message
from app.models.operations import WorkerHeartbeat
from app.models.questions import Question
from app.models.reporting import AttachmentDownload, Report, ReportReminder, ReportRound

__all__ = [
    "AgreementSignature", "AgreementVersion",
    "Appeal", "Application", "ApplicationFile", "Assignment", "Attachment", "AttachmentType", "AuditCheckpoint",
    "AuditEvent", "RecoveryCode", "BudgetLine", "Call", "CallEvaluator", "EvaluatorAffiliation",
    "Check", "CheckResult", "Clarification", "ConflictOfInterest", "ConsensusNote", "CostCategory", "Criterion", "Decision", "Document", "Grant",
    "Invitation", "Job", "KeptDraft", "LoginAttempt", "LoginThrottle", "Message", "NumberCounter", "Organisation", "Organiser", "PasswordResetRequest", "Payment", "PaymentBatch", "PaymentBatchItem",
    "Question", "RankingProtocol", "Recovery", "Report", "ReportReminder", "ReportRound", "AttachmentDownload", "ReviewReminder", "Score", "User", "user_organisers",
    "WorkerHeartbeat",
]
