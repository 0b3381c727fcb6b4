"""flask --app wsgi …: demo, create-user, tick, worker, audit verify, workflows diagram."""
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

    @app.cli.command("tick")
    def tick_command():
        """Persist due clock moves, expire offers and reserves, seal an audit checkpoint."""
        from app.services.clockwork import tick

        report = tick()
        for move in report.moves:
            click.echo(move)
        for refused in report.refused:  # logged with its traceback; every other move was made
            click.echo(f"not moved: {refused}", err=True)
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
            click.echo(f"audit trail intact: {verdict.events} events")
        else:
            click.echo(f"audit trail BROKEN: {verdict.problem}", err=True)
            sys.exit(1)

    app.cli.add_command(audit_group)

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
