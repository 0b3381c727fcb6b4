"""The review assignment (vērtējums), DESIGN 2.3."""
from workflows.definition import State, Workflow, t, then

REVIEW = Workflow(
    name="review",
    entity="assignment",
    initial="assigned",
    states=(
        State("assigned", "Piešķirts", "Assigned"),
        State("accepted", "Apliecināts, vērtē", "Accepted"),
        State("submitted", "Iesniegts", "Submitted"),
        State("recused", "Atteicies (interešu konflikts)", "Recused", final=True),
        State("revoked", "Atsaukts", "Revoked", final=True),
        State("voided", "Anulēts", "Voided", final=True),
    ),
    transitions=(
        t("declare_no_conflict", "assigned", "accepted", "evaluator", effects=("store_declaration",)),
        t("recuse", ("assigned", "accepted"), "recused", "evaluator", effects=("record_conflict", "replace_evaluator"),
          needs_note=True),
        t("submit_review", "accepted", "submitted", "evaluator", guards=("scores_complete",),
          effects=("stamp_review", "flag_divergence"), irreversible=True,
          cascades=(then("application.complete_review", "application_once_late_reviews_are_in"),)),
        # an admin reopens one with a reason (consensus, an error) while the ranking is not confirmed; the evaluator is
        # told and submits again. The system reopens them too, later, when an appeal on scoring grounds is upheld.
        t("reopen", "submitted", "accepted", ("admin", "system"), guards=("ranking_not_confirmed",),
          effects=("unstamp_review", "notify_reopened"), needs_note=True),
        t("revoke", ("assigned", "accepted"), "revoked", "admin", effects=("replace_evaluator",), needs_note=True),
        t("void", "submitted", "voided", "admin", effects=("record_conflict", "replace_evaluator"), needs_note=True),
    ),
    triggers={
        "declare_no_conflict": ("Apliecinu, ka interešu konflikta nav", "I declare no conflict of interest"),
        "recuse": ("Atteikties (interešu konflikts)", "Recuse (conflict of interest)"),
        "submit_review": ("Iesniegt vērtējumu", "Submit the review"),
        "reopen": ("Atvērt vērtējumu labošanai", "Reopen the review"),
        "revoke": ("Atsaukt uzdevumu", "Revoke the assignment"),
        "void": ("Anulēt vērtējumu", "Void the review"),
    },
)
