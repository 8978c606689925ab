"""SmtpSender against a small SMTP server running inside the test process."""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from pydantic import SecretStr

from blocks.notify import NotificationError, NotificationTransientError, SmtpSender

USER = "frontdesk"
PASSWORD = "correct-horse-0142"


@dataclass
class FakeSmtp:
    """What the fake server does and what it received."""

    host: str = "127.0.0.1"
    port: int = 0
    auth: bool = False
    silent: bool = False  # accept the connection, never greet (a hung server)
    rcpt_reply: str = "250 OK"
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _Handler(socketserver.StreamRequestHandler):
    """Enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT."""

    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        fake = self.server.fake
        if fake.silent:
            self.server.release.wait(5)
            return
        self.reply("220 fake.example.org ESMTP")
        sender, recipients = "", list[str]()
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8").rstrip("\r\n")
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                extensions = ["250-fake.example.org", "250-8BITMIME"]
                if fake.auth:
                    extensions.append("250-AUTH PLAIN")
                self.reply("\r\n".join(extensions + ["250 SMTPUTF8"]))
            elif verb == "HELO" or verb == "NOOP":
                self.reply("250 OK")
            elif verb == "AUTH":
                _, _, token = rest.partition(" ")
                _, user, password = base64.b64decode(token).decode().split("\0")
                fake.logins.append(user)
                ok = (user, password) == (USER, PASSWORD)
                self.reply("235 OK" if ok else "535 authentication failed")
            elif verb == "MAIL":
                sender, recipients = rest.split(":", 1)[1].strip("<> "), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(rest.split(":", 1)[1].strip("<> "))
                self.reply(fake.rcpt_reply)
            elif verb == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                fake.messages.append(
                    message_from_bytes(b"".join(lines), policy=policy.default)  # type: ignore[arg-type]
                )
                fake.envelopes.append((sender, recipients))
                self.reply("250 queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeSmtp) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.release = threading.Event()


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    fake = FakeSmtp()
    server = _Server(fake)
    fake.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield fake
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def sender_for(fake: FakeSmtp, **overrides: object) -> SmtpSender:
    values: dict[str, object] = {
        "host": fake.host,
        "port": fake.port,
        "from_address": "frontdesk@example.org",
        "use_starttls": False,
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return SmtpSender(**values)  # type: ignore[arg-type]


class TestSending:
    def test_a_message_is_delivered_with_its_message_id(self, smtp: FakeSmtp) -> None:
        message_id = sender_for(smtp).send(
            "pat.testperson@example.com",
            "Your request to Maple Grove",
            "Gracias por comunicarse con nosotros. Recibimos su mensaje.",
        )
        assert message_id.startswith("<") and message_id.endswith("@example.org>")
        (received,) = smtp.messages
        assert received["Message-ID"] == message_id
        assert received["To"] == "pat.testperson@example.com"
        assert received["From"] == "frontdesk@example.org"
        assert received["Subject"] == "Your request to Maple Grove"
        assert "Recibimos su mensaje." in received.get_content()
        assert smtp.envelopes == [
            ("frontdesk@example.org", ["pat.testperson@example.com"])
        ]

    def test_a_login_is_sent_when_a_username_is_set(self, smtp: FakeSmtp) -> None:
        smtp.auth = True
        sender = sender_for(smtp, username=USER, password=SecretStr(PASSWORD))
        sender.send("pat@example.com", "Subject", "Body text.")
        assert smtp.logins == [USER]
        assert len(smtp.messages) == 1

    def test_a_refused_login_is_a_safe_error(self, smtp: FakeSmtp) -> None:
        smtp.auth = True
        sender = sender_for(smtp, username=USER, password=SecretStr("wrong-0199"))
        with pytest.raises(NotificationError, match="refused the login") as caught:
            sender.send("pat@example.com", "Subject", "Body text.")
        assert "wrong-0199" not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
        assert smtp.messages == []


class TestFailures:
    def test_a_refused_recipient_names_neither_address_nor_content(
        self, smtp: FakeSmtp
    ) -> None:
        smtp.rcpt_reply = "550 no such user pat@example.com"
        with pytest.raises(NotificationError) as caught:
            sender_for(smtp).send("pat@example.com", "Lab forms", "Body text.")
        assert not isinstance(caught.value, NotificationTransientError)
        assert "550" in str(caught.value)
        for secret in ("pat@example.com", "Lab forms", "Body text"):
            assert secret not in str(caught.value)

    def test_a_temporary_refusal_is_a_transient_error(self, smtp: FakeSmtp) -> None:
        smtp.rcpt_reply = "451 try again later"
        with pytest.raises(NotificationTransientError, match="451"):
            sender_for(smtp).send("pat@example.com", "Subject", "Body text.")

    def test_a_server_that_never_answers_times_out(self, smtp: FakeSmtp) -> None:
        smtp.silent = True
        sender = sender_for(smtp, timeout_seconds=0.3)
        with pytest.raises(NotificationTransientError, match="did not answer"):
            sender.send("pat@example.com", "Subject", "Body text.")

    def test_a_closed_port_is_a_transient_error(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sender = SmtpSender(
            host="127.0.0.1",
            port=port,
            from_address="frontdesk@example.org",
            use_starttls=False,
            timeout_seconds=2,
        )
        with pytest.raises(NotificationTransientError, match="ConnectionRefused"):
            sender.send("pat@example.com", "Subject", "Body text.")

    def test_starttls_required_but_not_offered_is_refused(self, smtp: FakeSmtp) -> None:
        with pytest.raises(NotificationError, match="STARTTLS"):
            sender_for(smtp, use_starttls=True).send(
                "pat@example.com", "Subject", "Body text."
            )
        assert smtp.messages == []


class TestInputs:
    def test_a_password_is_never_sent_unencrypted_to_a_remote_host(self) -> None:
        sender = SmtpSender(
            host="mail.example.org",
            from_address="frontdesk@example.org",
            username=USER,
            password=SecretStr(PASSWORD),
            use_starttls=False,
        )
        with pytest.raises(NotificationError, match="use_starttls"):
            sender.send("pat@example.com", "Subject", "Body text.")

    @pytest.mark.parametrize(
        "address",
        [
            "not-an-address",
            "pat@example.com\r\nBcc: other@example.org",
            "Pat Testperson <pat@example.com>",
            "pat@example.com, other@example.org",
        ],
    )
    def test_a_bad_recipient_is_refused_before_connecting(
        self, smtp: FakeSmtp, address: str
    ) -> None:
        with pytest.raises(NotificationError, match="recipient") as caught:
            sender_for(smtp).send(address, "Subject", "Body text.")
        assert address not in str(caught.value)
        assert smtp.messages == []

    def test_a_subject_with_a_line_break_is_refused(self, smtp: FakeSmtp) -> None:
        with pytest.raises(NotificationError, match="subject"):
            sender_for(smtp).send("pat@example.com", "Hi\r\nBcc: x@example.org", "Body")

    def test_the_password_is_masked_in_the_block_repr(self) -> None:
        sender = SmtpSender(
            host="mail.example.org",
            from_address="frontdesk@example.org",
            username=USER,
            password=SecretStr(PASSWORD),
        )
        assert PASSWORD not in repr(sender)
        assert PASSWORD not in str(sender.model_dump())

    def test_an_invalid_from_address_is_refused_when_configuring(self) -> None:
        with pytest.raises(ValueError, match="from_address"):
            SmtpSender(host="mail.example.org", from_address="front desk")
