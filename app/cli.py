"""flask --app wsgi …: demo, create-user, tick, worker, audit verify, ranking verify, export, workflows
diagram, backup, restore, check."""
from __future__ import annotations

import sys

import click
from flask import Flask

from app.extensions import db


def register(app: Flask) -> None:
    @app.cli.command("demo")
    def demo_command():
        """Load the demo competition (idempotent) and print the logins."""
        from app.demo import load_demo

        logins = load_demo()
        click.echo("Demo logins (password for all: see below):")
        for role, email, password in logins:
            click.echo(f"  {role:<10} {email:<32} {password}")
        click.echo("Admins and auditors need two-factor sign-in: at their first sign-in they are asked to set up an "
                   "authenticator app (FreeOTP, Aegis, Google or Microsoft Authenticator: scan the QR code or type "
                   "the key), then enter its 6-digit code at every sign-in. NGO members and evaluators may turn it "
                   "on under Change password > Two-factor sign-in.")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(["admin", "evaluator", "auditor"]), required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--organiser", "organisers", multiple=True, help="Organiser name (admins and auditors)")
    @click.option("--programme-level", is_flag=True, help="Sees every organiser (IKVD)")
    def create_user(email, name, role, password, organisers, programme_level):
        """Create an admin, evaluator or auditor. NGO members register themselves on the site."""
        from app.errors import UserError
        from app.services.accounts import create_staff_user

        try:
            user = create_staff_user(email=email, name=name, role=role, password=password, organisers=organisers,
                                     programme_level=programme_level)
            db.session.commit()
        except UserError as refused:
            db.session.rollback()
            raise click.ClickException(refused.message) from None
        click.echo(f"created {user.role} {user.email}")

    @app.cli.command("organiser-bank")
    @click.option("--organiser", "name", required=True, help="The organiser's name, as in the system")
    @click.option("--iban", required=True)
    @click.option("--bic", default=None)
    @click.option("--street", default=None)
    @click.option("--building", default=None)
    @click.option("--postcode", default=None)
    @click.option("--town", required=True)
    @click.option("--country", default="LV", show_default=True)
    def organiser_bank(name, **details):
        """Set the account the organiser's grants are paid from and its address, for the SEPA bank files."""
        from app.errors import UserError
        from app.services.payment_batches import set_bank_details

        try:
            organiser = set_bank_details(name, **details)
            db.session.commit()
        except UserError as refused:
            db.session.rollback()
            raise click.ClickException(refused.message) from None
        click.echo(f"{organiser.name}: {organiser.bank_iban}, {organiser.address_town} {organiser.address_country}")

    @app.cli.command("tick")
    def tick_command():
        """Persist due clock moves, expire offers and reserves, seal an audit checkpoint."""
        from app.services.clockwork import tick

        report = tick()
        for move in report.moves:
            click.echo(move)
        for refused in report.refused:  # logged with its traceback; every other move was made
            click.echo(f"not moved: {refused}", err=True)
        for reminder in report.review_reminders:
            click.echo(f"reminded: {reminder}")
        for reminder in report.report_reminders:
            click.echo(f"reminded: {reminder}")
        click.echo(f"checkpoint: {report.checkpoint or 'nothing new'}")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Do the pending jobs and exit")
    def worker_command(once):
        """Render queued documents and deliver queued e-mails."""
        from app.services.jobs import run_pending
        from app.worker import run_forever

        if once:
            click.echo(f"done {run_pending(limit=100000)} jobs")
        else:
            run_forever(app)

    audit_group = click.Group("audit", help="The audit trail.")

    @audit_group.command("verify")
    def audit_verify():
        """Exit 0 on an intact trail; otherwise name the first bad event and exit 1."""
        from app.services.audit import verify

        verdict = verify()
        if verdict.ok:
            click.echo(f"audit trail intact: {verdict.events} events; scores as submitted: {verdict.reviews} "
                       "reviews")
            if verdict.unsealed_reviews:
                click.echo(f"not checked: {verdict.unsealed_reviews} reviews submitted before scores were hashed "
                           "into the trail")
        else:
            click.echo(f"audit trail BROKEN: {verdict.problem}", err=True)
            sys.exit(1)

    app.cli.add_command(audit_group)

    ranking_group = click.Group("ranking", help="A call's ranking.")

    @ranking_group.command("verify")
    @click.argument("call")
    @click.option("--lang", type=click.Choice(["lv", "en"]), default="en", help="Language of the report")
    def ranking_verify(call, lang):
        """Recompute CALL's ranking (id or code) from the stored scores, amounts, rules and overrides and compare
        it with the confirmed protocol, the published decisions and the protocol's input hash. Exit 0 when all
        agree; otherwise name the first difference and exit 1."""
        from flask_babel import force_locale

        from app.services import verification

        with force_locale(lang):
            found = verification.find_call(call)
            if found is None:
                raise click.BadParameter(f"no call with id or code {call!r}", param_hint="CALL")
            result = verification.verify(found)
            for line in result.lines():
                click.echo(line)
        sys.exit(0 if result.ok else 1)

    app.cli.add_command(ranking_group)

    @app.cli.command("export")
    @click.argument("call")
    @click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "360giving"]), required=True)
    @click.option("--what", type=click.Choice(["applications", "ranking"]), default="applications",
                  help="For csv and xlsx: the applications with every score, or the ranking with the reasons")
    @click.option("--lang", type=click.Choice(["lv", "en"]), default="lv", help="Language of the headers and words")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: stdout)")
    def export_command(call, fmt, what, lang, output):
        """Export the call with code CALL: the same bytes as the download buttons of its pages."""
        from sqlalchemy import select

        from app.errors import UserError
        from app.models import Call
        from app.services import exports

        found = db.session.scalar(select(Call).where(Call.code == call))
        if found is None:
            raise click.BadParameter(f"no call with code {call!r}", param_hint="CALL")
        try:
            result = exports.export(found, None, fmt, what, lang)
        except UserError as refused:
            raise click.ClickException(refused.message) from None
        if output:
            with open(output, "wb") as handle:
                handle.write(result.content)
            click.echo(f"wrote {output} ({len(result.content)} bytes)", err=True)
        else:
            click.get_binary_stream("stdout").write(result.content)

    @app.cli.command("purge")
    @click.option("--call", "code", help="Only this call (refused while its records must be kept)")
    @click.option("--dry-run", is_flag=True, help="Say what would be purged; change nothing")
    def purge_command(code, dry_run):
        """Delete drafts 6 months after their call closed; pseudonymise the people of calls past their retention
        date (and of no other call). The audit trail still verifies afterwards."""
        from sqlalchemy import select

        from app.errors import UserError
        from app.models import Call
        from app.services import retention

        found = None
        if code:
            found = db.session.scalar(select(Call).where(Call.code == code))
            if found is None:
                raise click.BadParameter(f"no call with code {code!r}", param_hint="--call")
        try:
            report = retention.purge(call=found, dry_run=dry_run)
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        except UserError as refused:
            db.session.rollback()
            raise click.ClickException(refused.message) from None
        verb = "would purge" if dry_run else "purged"
        click.echo(f"calls past their retention date: {', '.join(report.calls) or 'none'}")
        click.echo(f"{verb}: {len(report.drafts)} drafts, {len(report.people)} people pseudonymised")

    @app.cli.command("backup")
    @click.argument("into", type=click.Path(file_okay=False))
    def backup_command(into):
        """Back up the database (PostgreSQL: pg_dump; SQLite: its backup API, safe while the app runs) and the files
        in UPLOAD_DIR into a new folder inside INTO; print the folder."""
        from app.services import backups

        try:
            made = backups.backup(into, app.config["UPLOAD_DIR"])
        except backups.BackupError as refused:
            raise click.ClickException(refused.message) from None
        click.echo(f"backed up {len(made.tables)} tables, {sum(made.tables.values())} rows, {made.uploads} files "
                   f"on disk into {made.folder}")

    @app.cli.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    @click.option("--force", is_flag=True, help="Replace a database (and UPLOAD_DIR) that holds data already")
    def restore_command(folder, force):
        """Restore a folder made by `backup` into this configuration's database (DATABASE_URL) and UPLOAD_DIR.
        Refuses a target that holds data unless --force; says what it will do first."""
        from app.services import backups

        db.session.remove()
        db.engine.dispose()  # nothing of this process keeps the target open
        try:
            found = backups.plan(folder, app.config["SQLALCHEMY_DATABASE_URI"], app.config["UPLOAD_DIR"])
            for line in found.lines():
                click.echo(line)
            if found.problems and force:
                click.echo("--force: will replace what is there: " + "; ".join(found.problems) + ".")
            restored = backups.restore(found, force=force)
        except backups.BackupError as refused:
            raise click.ClickException(refused.message) from None
        if restored.differences:
            click.echo("restored, but the row counts differ from the backup's:\n  " +
                       "\n  ".join(restored.differences), err=True)
            sys.exit(1)
        click.echo(f"restored {len(restored.tables)} tables, {sum(restored.tables.values())} rows: every count as "
                   "in the backup. Run `flask --app wsgi audit verify` next.")

    @app.cli.command("check")
    def check_command():
        """Say what is misconfigured, in words: the secret, mail, the database and its migration, the PDF fonts,
        Graphviz, the upload limit against nginx's, the https address in production. Exit 0 when all is well."""
        from app.services import config_check

        findings = config_check.run(app)
        for finding in findings:
            click.echo(finding.line())
        problems = [finding for finding in findings if not finding.ok]
        click.echo(f"{len(problems)} problems" if problems else "all is well")
        sys.exit(1 if problems else 0)

    workflows_group = click.Group("workflows", help="The process definitions.")

    @workflows_group.command("diagram")
    @click.argument("name")
    @click.option("--format", "fmt", type=click.Choice(["svg", "mermaid"]), default="svg")
    @click.option("--lang", type=click.Choice(["lv", "en"]), default="lv")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: stdout)")
    def diagram(name, fmt, lang, output):
        """Draw the workflow NAME (call, application, review, report, payment, recovery)."""
        from workflows import diagram as draw
        from workflows.engine import WORKFLOWS

        if name not in WORKFLOWS:
            raise click.BadParameter(f"choose one of {', '.join(WORKFLOWS)}")
        text = (draw.to_svg if fmt == "svg" else draw.to_mermaid)(WORKFLOWS[name], lang=lang)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            click.echo(f"wrote {output}")
        else:
            click.echo(text)

    @workflows_group.command("explain")
    @click.argument("name")
    @click.argument("trigger", required=False)
    def explain(name, trigger):
        """Each transition of NAME (or only TRIGGER's): roles, guards, effects, cascades, with their file:line."""
        from app.services.registry import explain as lines_of
        from app.services.workflow import engine

        workflows = engine().compiled
        if name not in workflows:
            raise click.BadParameter(f"choose one of {', '.join(workflows)}", param_hint="NAME")
        lines = lines_of(workflows[name].workflow, trigger)
        if not lines:
            raise click.BadParameter(f"{name} has no trigger '{trigger}'", param_hint="TRIGGER")
        click.echo("\n".join(lines))

    app.cli.add_command(workflows_group)
