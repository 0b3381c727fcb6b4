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
        t("submit", "draft", "submitted", "applicant", guards=("grant_active", "report_complete"),
          effects=("stamp_report",)),
        t("request_changes", "submitted", "changes_requested", "admin", effects=("notify_report_changes",),
          needs_note=True),
        t("resubmit", "changes_requested", "submitted", "applicant", guards=("report_complete",),
          effects=("stamp_report",)),
        t("approve", "submitted", "approved", "admin", effects=("stamp_approval", "release_final_payment")),
    ),
    triggers={
        "submit": ("Iesniegt atskaiti", "Submit the report"),
        "request_changes": ("Lūgt precizēt", "Request changes"),
        "resubmit": ("Iesniegt atkārtoti", "Resubmit"),
        "approve": ("Apstiprināt atskaiti", "Approve the report"),
    },
)
