"""The grantee's report (atskaite), DESIGN 2.4."""
from workflows.definition import State, Workflow, t

REPORT = Workflow(
    name="report",
    entity="report",
    initial="draft",
    states=(
        State("draft", "Sagatave", "Draft"),
        State("submitted", "Iesniegta", "Submitted"),
        State("changes_requested", "Jāprecizē", "Changes requested"),
        State("approved", "Apstiprināta", "Approved", final=True),
    ),
    transitions=(
        t("submit", "draft", "submitted", "applicant",
          guards=("grant_active", "report_period_begun", "report_complete"),
          effects=("stamp_report", "keep_report_round", "tell_admins_report_submitted")),
        t("request_changes", "submitted", "changes_requested", "admin",
          effects=("notify_report_changes", "close_report_round"), needs_note=True),
        t("resubmit", "changes_requested", "submitted", "applicant", guards=("report_complete",),
          effects=("stamp_report", "keep_report_round", "tell_admins_report_submitted")),
        t("approve", "submitted", "approved", "admin",
          effects=("stamp_approval", "close_report_round", "release_final_payment", "tell_report_approved")),
        # before the reported period has begun (app/services/reporting.py `too_early`), with the admin's reason
        t("allow_early", "draft", "draft", "admin", guards=("report_still_early",), effects=("allow_early_submission",),
          needs_note=True),
    ),
    triggers={
        "submit": ("Iesniegt atskaiti", "Submit the report"),
        "request_changes": ("Lūgt precizēt", "Request changes"),
        "resubmit": ("Iesniegt atkārtoti", "Resubmit"),
        "approve": ("Apstiprināt atskaiti", "Approve the report"),
        "allow_early": ("Atļaut iesniegt agrāk", "Allow early submission"),
    },
)
