"""Outgoing email.

With MAIL_SERVER set, messages go out by SMTP. Otherwise (the embedded mode) each message is
written as an .eml file to the outbox folder, where a developer can read it: `flask outbox`
lists them, and /dev/outbox shows them in the browser while the app runs in debug mode.
Messages are sent after the unit of work commits, so a rolled-back action sends nothing.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app, has_request_context, render_template

from app.models import utcnow
from app.uow import after_commit


def build_message(to: str, subject: str, template: str, **context: object) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="kindred.localhost")
    message["Date"] = utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000")
    context.setdefault("base_url", current_app.config["BASE_URL"])
    if has_request_context():
        body = render_template(f"email/{template}.txt", **context)
    else:
        # Jobs and commands send mail too; links are built as if on the public site.
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            body = render_template(f"email/{template}.txt", **context)
    message.set_content(body)
    return message


def send(to: str, subject: str, template: str, **context: object) -> None:
    """Queue a message; it leaves once the current unit of work has committed."""
    message = build_message(to, subject, template, **context)
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def _deliver() -> None:
        try:
            deliver(message)
        except OSError:
            app.logger.exception("could not send mail to %s", message["To"])

    after_commit(_deliver)


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    if config["MAIL_SERVER"]:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        return
    outbox = Path(config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    msgid = str(message["Message-ID"]).strip("<>").split("@")[0]
    (outbox / f"{stamp}-{msgid}.eml").write_bytes(bytes(message))


def outbox_messages(limit: int = 50) -> list[tuple[str, EmailMessage]]:
    from email import policy
    from email.parser import BytesParser

    outbox = Path(current_app.config["OUTBOX_DIR"])
    if not outbox.exists():
        return []
    files = sorted(outbox.glob("*.eml"), reverse=True)[:limit]
    parser = BytesParser(policy=policy.default)
    return [(f.name, parser.parsebytes(f.read_bytes())) for f in files]
