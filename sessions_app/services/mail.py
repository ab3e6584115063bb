"""Outgoing mail: one small message type and two transports, used off the event loop.

* SMTP (``SMTP_HOST`` set): the standard library's ``smtplib``, with STARTTLS (default),
  implicit TLS (``SMTP_TLS=ssl``) or none (a local relay), and a login when
  ``SMTP_USERNAME`` is set.
* The log (no ``SMTP_HOST``): in ``dev`` and ``test`` the whole mail, link included, is
  written to the server log so a developer running ``make run`` can open the link. In
  ``prod`` only a warning that nothing was sent (a reset link in a log would be a credential).

``send`` blocks (network I/O), so the app calls ``send_later``: the mail goes out on a small
thread pool, never on the event loop, and the caller's answer does not wait for (or reveal)
whether a mail was sent at all.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from sessions_app.settings import Settings, get_settings

logger = logging.getLogger("sessions_app.mail")

# Two threads: mails are rare and small; a slow server delays mail, never page events.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mail")


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one recipient."""

    to: str
    subject: str
    body: str


def build_message(mail: Mail, settings: Settings) -> EmailMessage:
    """The RFC 5322 message for ``mail`` from the configured sender."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(mail.body)
    return msg


def send(mail: Mail, settings: Settings | None = None) -> None:
    """Deliver ``mail`` now (blocking). Raises ``OSError``/``smtplib.SMTPException`` on failure."""
    s = settings or get_settings()
    if not s.smtp_host:
        _log_transport(mail, s)
        return
    context = ssl.create_default_context()
    if s.smtp_tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context)
    else:
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
    with smtp:
        if s.smtp_tls == "starttls":
            smtp.starttls(context=context)
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password)
        smtp.send_message(build_message(mail, s))


def _log_transport(mail: Mail, s: Settings) -> None:
    if s.sessions_env == "prod":
        logger.warning("SMTP_HOST is not set: a mail (%s) was not sent.", mail.subject)
        return
    # WARNING so it shows with any log level; dev and test only.
    logger.warning("Mail (SMTP_HOST not set, so not sent)\nTo: %s\nSubject: %s\n\n%s",
                   mail.to, mail.subject, mail.body)


def _send_logged(mail: Mail) -> None:
    try:
        send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        # No traceback and no address: the reason is enough to fix the configuration.
        logger.warning("Could not send a mail (%s): %s", mail.subject, exc)


def send_later(mail: Mail | None) -> Future | None:
    """Send ``mail`` on the mail thread pool (nothing when None); returns the future."""
    if mail is None:
        return None
    return _pool.submit(_send_logged, mail)
