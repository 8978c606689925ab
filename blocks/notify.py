"""Notification block: send an approved administrative message by SMTP email.

Only text that came from a locked template, passed the outbound guardrail and
was approved where required should reach ``SmtpSender.send``; this block does
not check wording. Errors carry the server, port and SMTP code, never the
recipient, subject or body.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, field_validator

from intake.errors import IntakeError

logger = logging.getLogger(__name__)

MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 100_000


class NotificationError(IntakeError):
    """A message could not be sent; the message names no recipient or content."""


class NotificationTransientError(NotificationError):
    """A failure worth retrying: unreachable server, timeout, a 4xx reply."""


class SmtpSender(Block):
    """Sends plain-text email through an SMTP server (STARTTLS by default).

    Example:
        ```python
        from blocks.notify import SmtpSender

        sender = SmtpSender(host="smtp.example.org", port=587,
                            username="frontdesk", password="...",
                            from_address="frontdesk@example.org")
        sender.save("front-desk-mail")
        message_id = SmtpSender.load("front-desk-mail").send(
            "patient@example.com", "Your request", "Thank you for contacting us."
        )
        ```
    """

    _block_type_name = "SMTP Sender"
    _description = "Sends approved administrative follow-up by email (SMTP)."

    host: str = Field(description="SMTP server host name.")
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = Field(
        default=None, description="Login, if the server needs one."
    )
    password: SecretStr | None = None
    from_address: str = Field(description="The practice's sending address.")
    use_starttls: bool = Field(
        default=True,
        description="Upgrade the connection with STARTTLS before login and send. "
        "Turn off only for a relay on this machine.",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("from_address")
    @classmethod
    def _valid_from_address(cls, value: str) -> str:
        if not _valid_address(value):
            raise ValueError("from_address must be a plain email address")
        return value

    def send(self, to_address: str, subject: str, body: str) -> str:
        """Send one plain-text message; returns its Message-ID."""
        message = self._message(to_address, subject, body)
        if self.username and not self.use_starttls and not _is_loopback(self.host):
            raise NotificationError(
                f"refusing to send the SMTP password unencrypted to {self.host}; "
                "turn on use_starttls"
            )

        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(
                self.host, self.port, timeout=self.timeout_seconds
            ) as smtp:
                smtp.ehlo()
                if self.use_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    secret = self.password.get_secret_value() if self.password else ""
                    smtp.login(self.username, secret)
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise NotificationError(
                f"SMTP server {where} refused the login; check the block's username "
                "and password"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise NotificationError(
                f"SMTP server {where} does not offer STARTTLS or login as configured"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise _by_code(
                codes[0], f"SMTP server {where} refused the recipient"
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise _by_code(
                exc.smtp_code, f"SMTP server {where} refused the from_address"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(
                exc.smtp_code, f"SMTP server {where} refused the message"
            ) from None
        except ssl.SSLCertVerificationError:
            raise NotificationError(
                f"the TLS certificate of SMTP server {where} could not be verified"
            ) from None
        except smtplib.SMTPServerDisconnected:
            raise NotificationTransientError(
                f"SMTP server {where} closed the connection or did not answer in time"
            ) from None
        except smtplib.SMTPException as exc:
            raise NotificationError(
                f"SMTP server {where} failed the send ({type(exc).__name__})"
            ) from None
        except OSError as exc:
            # After SMTPException, which subclasses OSError: what is left is the
            # network (refused, unreachable, timed out).
            raise NotificationTransientError(
                f"could not talk to SMTP server {where} ({type(exc).__name__})"
            ) from None
        if refused:
            # send_message only returns refusals when some recipient was accepted;
            # with one recipient this cannot happen, but never report success then.
            raise NotificationError(f"SMTP server {where} refused the recipient")

        logger.info("smtp message sent via %s", where)
        return str(message["Message-ID"])

    def _message(self, to_address: str, subject: str, body: str) -> EmailMessage:
        if not _valid_address(to_address):
            raise NotificationError("the recipient is not a plain email address")
        if len(subject) > MAX_SUBJECT_CHARS or any(c in subject for c in "\r\n"):
            raise NotificationError(
                f"the subject must be one line, {MAX_SUBJECT_CHARS} characters at most"
            )
        if not body.strip() or len(body) > MAX_BODY_CHARS:
            raise NotificationError(
                f"the body must be non-empty and at most {MAX_BODY_CHARS} characters"
            )
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = to_address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.from_address.rpartition("@")[2])
        message.set_content(body)
        return message


def _by_code(code: int, text: str) -> NotificationError:
    if 400 <= code < 500:
        return NotificationTransientError(f"{text} (temporary, SMTP {code})")
    return NotificationError(f"{text} (SMTP {code})")


def _valid_address(value: str) -> bool:
    """One plain address (no display name, no line breaks, one '@')."""
    if not value or len(value) > 254 or any(c in value for c in "\r\n\t <>,;\"'"):
        return False
    _, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    return address == value and bool(local) and "." in domain and "@" not in local


def _is_loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
