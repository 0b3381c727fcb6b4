"""The call (konkurss), DESIGN 2.1."""
from workflows.definition import ClockMove, State, Workflow, t, then

CALL = Workflow(
    name="call",
    entity="call",
    initial="draft",
    states=(
        State("draft", "Sagatave", "Draft"),
        State("announced", "Izsludināts", "Announced"),
        State("open", "Atvērts pieteikšanās", "Open"),
        State("closed", "Pieteikšanās slēgta", "Closed"),
        State("evaluation", "Vērtēšana", "In evaluation"),
        State("ranking", "Rangēšana", "Ranking"),
        State("awarded", "Rezultāti publicēti", "Awarded"),
        State("reporting", "Īstenošana un atskaites", "Reporting"),
        State("completed", "Noslēgts", "Completed", final=True),
        State("cancelled", "Atcelts", "Cancelled", final=True),
    ),
    transitions=(
        t("announce", "draft", "announced", "admin",
          guards=("call_definition_valid", "call_dates_ordered", "call_period_long_enough"),
          effects=("freeze_call", "render_regulations", "notify_call_announced")),
        t("open", "announced", "open", "system"),
        t("extend_deadline", "open", "open", "admin", guards=("new_deadline_later",),
          effects=("set_deadline", "notify_draft_owners"), needs_note=True),
        t("close", "open", "closed", "system"),
        t("reopen", "closed", "open", "admin", guards=("new_deadline_in_future",),
          effects=("set_deadline", "notify_organisations"), needs_note=True),
        t("start_evaluation", "closed", "evaluation", "admin", guards=("no_application_pending_checks",),
          cascades=(then("application.start_review", "eligible_applications"),)),
        t("finish_evaluation", "evaluation", "ranking", "admin", guards=("reviews_complete",),
          cascades=(then("application.complete_review", "applications_in_review"),)),
        t("confirm_ranking", "ranking", "ranking", "admin", guards=("reopened_reviews_resubmitted",),
          effects=("store_protocol",), irreversible=True),
        t("publish_results", "ranking", "awarded", "admin",
          guards=("ranking_confirmed", "protocol_current", "awards_within_budget"), effects=("apply_decisions",),
          irreversible=True,
          cascades=(then("application.fund", "ranked_funded"), then("application.reserve", "ranked_reserve"),
                    then("application.reject", "ranked_rejected"))),
        t("start_reporting", "awarded", "reporting", ("admin", "system")),
        t("complete", "reporting", "completed", "admin", guards=("grants_all_ended", "appeals_settled"),
          cascades=(then("application.expire_reserve", "applications_on_reserve"),)),
        t("cancel", ("draft", "announced", "open", "closed", "evaluation", "ranking"), "cancelled", "admin",
          effects=("notify_applicants_cancelled",), needs_note=True, irreversible=True),
    ),
    triggers={
        "announce": ("Izsludināt", "Announce"),
        "open": ("Atvērt", "Open"),
        "extend_deadline": ("Pagarināt termiņu", "Extend the deadline"),
        "close": ("Slēgt", "Close"),
        "reopen": ("Atvērt no jauna", "Reopen"),
        "start_evaluation": ("Sākt vērtēšanu", "Start evaluation"),
        "finish_evaluation": ("Pabeigt vērtēšanu", "Finish evaluation"),
        "confirm_ranking": ("Apstiprināt rangu un protokolu", "Confirm the ranking and protocol"),
        "publish_results": ("Publicēt rezultātus", "Publish the results"),
        "start_reporting": ("Sākt īstenošanu", "Start reporting"),
        "complete": ("Noslēgt konkursu", "Complete the call"),
        "cancel": ("Atcelt konkursu", "Cancel the call"),
    },
    clock=(ClockMove("open", "announced", "opens_at"), ClockMove("close", "open", "closes_at")),
    groups={
        # Takes applications while opens_at <= now < closes_at (Call.accepting): an announced call counts, as the
        # clock opens it at opens_at and a GET never writes the move; so does a closed one, since the clock (tick, a
        # reader with a later clock) may record the close before a submit read its own `now` on time: the deadline
        # rule is the times, whatever has ticked (DESIGN 2.1).
        "accepting": ("announced", "open", "closed"),
        # The eligible applications are being, or have been, reviewed: one that passes its checks now (a late
        # clarification, an upheld appeal) goes straight to review, and the admin's lists show review counts.
        "evaluation_started": ("evaluation", "ranking", "awarded", "reporting", "completed"),
        # ... and finished: a review that comes in late (a replacement, a reopened one) completes its application.
        "evaluation_finished": ("ranking", "awarded", "reporting", "completed"),
        # The results are published: the public list of funded projects and the awarded total exist.
        "results_published": ("awarded", "reporting", "completed"),
    },
)
