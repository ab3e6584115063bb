"""A local SMTP server (aiosmtpd) that keeps every mail it receives, for tests to read.

``MailCatcher(port).start()`` serves plain SMTP on the loopback interface in a thread;
``env`` is the app's ``SMTP_*`` settings pointing at it. ``wait_for(to, subject)`` blocks on a
condition (no polling sleep) until a matching mail arrives, and ``link_in(mail, path)`` pulls
the app link out of the body.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One delivered mail: envelope and parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.catcher._add(Received(envelope.mail_from, tuple(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server in a background thread; every accepted mail lands in ``mails``."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.mails: list[Received] = []
        self._cond = threading.Condition()
        self._controller = Controller(_Handler(self), hostname=host, port=port)

    @property
    def env(self) -> dict[str, str]:
        """The app's settings for sending here (plain SMTP on loopback, no login)."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port), "SMTP_TLS": "none",
                "SMTP_FROM": "Sessions <no-reply@sessions.test>"}

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def _add(self, mail: Received) -> None:
        with self._cond:
            self.mails.append(mail)
            self._cond.notify_all()

    def to(self, address: str) -> list[Received]:
        """Mails delivered to ``address`` so far, oldest first."""
        with self._cond:
            return [m for m in self.mails if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, address: str, subject: str = "", *, count: int = 1, timeout: float = 20.0) -> Received:
        """The ``count``-th mail to ``address`` whose subject contains ``subject``."""
        deadline = time.monotonic() + timeout

        def found() -> list[Received]:
            return [m for m in self.to(address) if subject in m.subject]

        with self._cond:
            while len(found()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail #{count} to {address} with {subject!r}; got "
                                         f"{[(m.rcpt_tos, m.subject) for m in self.mails][-5:]}")
                self._cond.wait(left)
            return found()[count - 1]


def link_in(mail: Received, path: str) -> str:
    """The first URL in ``mail`` whose path is ``path`` (e.g. ``/verify-email``)."""
    match = re.search(rf"https?://\S+?{re.escape(path)}\?token=[A-Za-z0-9_\-]+", mail.body)
    assert match, f"no {path} link in:\n{mail.body}"
    return match.group(0)
