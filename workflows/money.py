"""Payments and recoveries, DESIGN 2.4."""
from workflows.definition import State, Workflow, t

PAYMENT = Workflow(
    name="payment",
    entity="payment",
    initial="scheduled",
    states=(
        State("scheduled", "Ieplānots", "Scheduled"),
        State("paid", "Izmaksāts", "Paid", final=True),
        State("cancelled", "Atcelts", "Cancelled", final=True),
    ),
    transitions=(
        t("pay", "scheduled", "paid", "admin", guards=("payment_due", "paid_within_grant", "bank_reference_given"),
          effects=("record_payment", "tell_payment_made")),
        t("cancel", "scheduled", "cancelled", ("admin", "system"), needs_note=True),
        # a shortfall in results takes part of a tranche still to pay (app/services/reporting.py record_shortfall)
        t("reduce", "scheduled", "scheduled", "admin", guards=("reduction_fits",), effects=("reduce_payment",),
          needs_note=True),
    ),
    triggers={"pay": ("Atzīmēt kā izmaksātu", "Mark as paid"), "cancel": ("Atcelt maksājumu", "Cancel the payment"),
              "reduce": ("Samazināt maksājumu", "Reduce the payment")},
)

RECOVERY = Workflow(
    name="recovery",
    entity="recovery",
    initial="demanded",
    states=(
        State("demanded", "Pieprasīta atmaksa", "Repayment demanded"),
        State("repaid", "Atmaksāts", "Repaid", final=True),
        State("written_off", "Norakstīts", "Written off", final=True),
    ),
    transitions=(
        t("repay", "demanded", "repaid", "admin", effects=("settle_recovery",)),
        t("write_off", "demanded", "written_off", "admin", effects=("settle_recovery",), needs_note=True),
    ),
    triggers={"repay": ("Atzīmēt atmaksu", "Mark as repaid"), "write_off": ("Norakstīt", "Write off")},
)
