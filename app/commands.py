"""CLI commands: `flask seed`, `flask outbox`, `flask i18n compile`.

Each command runs inside the unit of work; long ones show progress.
"""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from app.hooks import hooks
from app.uow import unit_of_work


class Progress:
    """A small progress reporter for long commands (seeding, payout runs)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def step(self, message: str) -> None:
        if not self.quiet:
            click.echo(f"  • {message}")

    def bar(self, iterable, length: int | None = None, label: str = ""):
        if self.quiet:
            return _NullBar(iterable)
        return click.progressbar(iterable, length=length, label=f"  {label}", show_pos=True)


class _NullBar:
    def __init__(self, iterable):
        self.iterable = iterable

    def __enter__(self):
        return self.iterable

    def __exit__(self, *exc: object) -> None:
        return None


def database_is_empty() -> bool:
    from app.accounts.models import User
    from app.extensions import db

    return (db.session.scalar(select(func.count(User.id))) or 0) == 0


def init_app(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--if-empty", is_flag=True, help="Seed only when there are no users yet.")
    @click.option("--quiet", is_flag=True)
    def seed(if_empty: bool, quiet: bool) -> None:
        """Fill the database with a small, realistic demo."""
        with unit_of_work(write=False):
            empty = database_is_empty()
        if if_empty and not empty:
            click.echo("The database already has data; not seeding.")
            return
        progress = Progress(quiet)
        # The demo is built in one go: its jobs (the orders a payment creates, …) run now,
        # even when a job broker is configured and no worker is running yet.
        from app import jobs

        app.extensions["kindred_job_dispatcher"] = jobs.run_inline
        for _order, name, seeder in hooks(app).seeders:
            click.echo(f"Seeding {name}…") if not quiet else None
            with unit_of_work():
                seeder(progress)
        click.echo("Demo data ready.") if not quiet else None

    @app.cli.command("outbox")
    @click.option("--limit", default=10, show_default=True)
    def outbox(limit: int) -> None:
        """Show the newest mail in the local outbox."""
        from app.mail import outbox_messages

        messages = outbox_messages(limit)
        if not messages:
            click.echo("The outbox is empty.")
        for name, message in messages:
            click.echo(f"--- {name}\nTo: {message['To']}\nSubject: {message['Subject']}\n")
            body = message.get_body(preferencelist=("plain",))
            click.echo(body.get_content() if body else "")

    @app.cli.group("i18n")
    def i18n() -> None:
        """Translation catalogues."""

    @i18n.command("compile")
    def compile_() -> None:
        from app.i18n import compile_catalogs

        click.echo(f"Compiled {compile_catalogs(force=True)} catalogue(s).")
