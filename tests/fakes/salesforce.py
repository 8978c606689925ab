"""An in-process fake of the Salesforce APIs simple-salesforce calls.

``FakeSalesforce`` is a ``requests`` transport adapter. ``install(session)``
mounts it on the instance URL and on the login hosts of a requests session (and
a refusing adapter on every other https/http URL, so nothing reaches the
network). It keeps records per object and enforces what the real org does:

- SOAP login (``/services/Soap/u/<v>``) with username, password + token;
  sessions can be expired; a request with an unknown session gets 401
  ``INVALID_SESSION_ID``.
- sObject upsert by external id (PATCH: 201 + id on create, 204 on update, 300
  when two records share the value), GET by external id, field names checked
  against the org schema below, required fields and restricted picklists.
- The SOQL query endpoint with paging. The query is parsed: string literals
  must be properly escaped, so an unescaped quote yields 400
  ``MALFORMED_QUERY`` as on the real API; every parsed query is recorded with
  its decoded literals so tests can prove what value was compared.
- Bulk API 2.0 ingest jobs: create, upload CSV, close, poll, successful and
  failed results.
- Fault injection: ``fail_next(status=..., error_code=...)`` or
  ``fail_next(exception=requests.ReadTimeout)``, optionally after the request
  was processed (the answer lost on the way back).

Every request is recorded with the timeout it was sent with.

Error bodies quote record values the way Salesforce's do, so tests can check
that the connector never lets them through.
"""

from __future__ import annotations

import csv
import http.client
import io
import itertools
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from intake.models import (
    Channel,
    IntakeStatus,
    MissingDetail,
    PatientStatus,
    Queue,
    RequestType,
    Urgency,
)

LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


# ----------------------------------------------------------------------------
# The org's schema, written from the README's table (not from the connector)


@dataclass
class ObjectSchema:
    prefix: str  # Salesforce id prefix of the object
    fields: dict[str, str]  # API name -> string|date|datetime|boolean|multi|id
    external_ids: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    picklists: dict[str, frozenset[str]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)


def _labels(enum: Any) -> frozenset[str]:
    return frozenset(member.value for member in enum)


def _contact_name(record: dict[str, Any]) -> str:
    return " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)


def org_schema() -> dict[str, ObjectSchema]:
    """The objects and fields the README tells an admin to create."""
    return {
        "Contact": ObjectSchema(
            prefix="003",
            fields={
                "Id": "id",
                "FirstName": "string",
                "LastName": "string",
                "Birthdate": "date",
                "Phone": "string",
                "Email": "string",
                "Patient_Key__c": "string",
                "Portal_Account__c": "string",
            },
            external_ids=frozenset({"Patient_Key__c"}),
            required=frozenset({"LastName"}),
            computed={"Name": _contact_name},
        ),
        "Case": ObjectSchema(
            prefix="500",
            fields={
                "Id": "id",
                "Intake_Id__c": "string",
                "Patient_Key__c": "string",
                "Intake_Source__c": "string",
                "Received_At__c": "datetime",
                "Request_Type__c": "string",
                "Urgency__c": "string",
                "Patient_Status__c": "string",
                "Queue__c": "string",
                "Owner_Label__c": "string",
                "Intake_Status__c": "string",
                "Missing_Information__c": "multi",
                "Stop_Automation__c": "boolean",
                "Response_Due__c": "datetime",
                "Follow_Up_Outcome__c": "string",
                "Referral_Source__c": "string",
            },
            external_ids=frozenset({"Intake_Id__c"}),
            picklists={
                "Intake_Source__c": _labels(Channel),
                "Request_Type__c": _labels(RequestType),
                "Urgency__c": _labels(Urgency),
                "Patient_Status__c": _labels(PatientStatus),
                "Queue__c": _labels(Queue),
                "Intake_Status__c": _labels(IntakeStatus),
                "Missing_Information__c": _labels(MissingDetail),
            },
            defaults={"Stop_Automation__c": False},
        ),
        "Task": ObjectSchema(
            prefix="00T",
            fields={
                "Id": "id",
                "Subject": "string",
                "Description": "string",
                "ActivityDate": "date",
                "Status": "string",
                "Intake_Task_Key__c": "string",
                "Intake_Id__c": "string",
                "Task_Kind__c": "string",
                "Queue__c": "string",
                "Owner_Label__c": "string",
                "Intake_Task_Status__c": "string",
                "Due_At__c": "datetime",
            },
            external_ids=frozenset({"Intake_Task_Key__c"}),
            picklists={
                "Status": frozenset(
                    {
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    }
                ),
            },
            defaults={"Status": "Not Started"},
        ),
        "Intake_Message__c": ObjectSchema(
            prefix="a0M",
            fields={
                "Id": "id",
                "Intake_Message_Key__c": "string",
                "Intake_Id__c": "string",
                "Template_Id__c": "string",
                "Template_Version__c": "string",
                "Channel__c": "string",
                "Message_Text__c": "string",
                "Message_Status__c": "string",
            },
            external_ids=frozenset({"Intake_Message_Key__c"}),
            picklists={
                "Message_Status__c": frozenset(
                    {"queued", "sent", "failed", "cancelled"}
                ),
            },
        ),
    }


class ApiError(Exception):
    """An error answer: HTTP status, Salesforce errorCode, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _malformed(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)


# ----------------------------------------------------------------------------
# Value normalisation (the org stores; the API answers in its own formats)


def _parse_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a Salesforce datetime needs a time zone")
    return moment.astimezone(UTC)


def _format_datetime(moment: datetime) -> str:
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    )


def _normalise(obj: str, schema: ObjectSchema, name: str, value: Any) -> Any:
    kind = schema.fields[name]
    if value is None:
        return None
    try:
        if kind == "datetime":
            return _format_datetime(_parse_datetime(str(value)))
        if kind == "date":
            return date.fromisoformat(str(value)).isoformat()
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in {"true", "false"}:
                return str(value).lower() == "true"
            raise ValueError(value)
        if not isinstance(value, str):
            raise ValueError(value)
    except ValueError:
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {kind} from value {value!r} for {name}",
        ) from None
    allowed = schema.picklists.get(name)
    if allowed is not None:
        chosen = value.split(";") if kind == "multi" else [value]
        for item in chosen:
            if item not in allowed:
                raise ApiError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{name}: bad value for restricted picklist field: {item}",
                )
    return value


# ----------------------------------------------------------------------------
# SOQL: tokenizer, parser, evaluator


_ESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "%": "%",
    "_": "_",
}
_TOKEN = re.compile(
    r"""
    (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op>!=|<=|>=|=|<|>)
    |(?P<punct>[(),])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "NULL",
    "TRUE",
    "FALSE",
}


@dataclass
class Token:
    kind: str  # string | datetime | date | number | op | punct | ident | keyword
    text: str
    value: Any = None
    raw: str = ""  # a string literal's text between the quotes, undecoded


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(soql)
    while i < n:
        char = soql[i]
        if char.isspace():
            i += 1
            continue
        if char == "'":
            j = i + 1
            decoded: list[str] = []
            while True:
                if j >= n:
                    raise _malformed(f"unterminated string literal at: {soql[i:]}")
                c = soql[j]
                if c == "\\":
                    escaped = soql[j + 1] if j + 1 < n else ""
                    if escaped not in _ESCAPES:
                        raise _malformed(
                            f"invalid escape sequence in: {soql[i : j + 2]}"
                        )
                    decoded.append(_ESCAPES[escaped])
                    j += 2
                    continue
                if c == "'":
                    break
                decoded.append(c)
                j += 1
            tokens.append(
                Token("string", soql[i : j + 1], "".join(decoded), soql[i + 1 : j])
            )
            i = j + 1
            continue
        match = _TOKEN.match(soql, i)
        if not match:
            raise _malformed(f"unexpected character at: {soql[i : i + 20]}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "ident" and text.upper() in _KEYWORDS:
            tokens.append(Token("keyword", text.upper()))
        else:
            tokens.append(Token(kind, text))
        i = match.end()
    return tokens


@dataclass
class Comparison:
    field: str
    op: str  # = != < <= > >= LIKE IN NOT IN
    value: Any  # decoded literal, or a list for IN
    like_raw: str = ""


@dataclass
class BoolOp:
    op: str  # AND | OR
    items: list[Any]


@dataclass
class Not:
    item: Any


@dataclass
class ParsedQuery:
    soql: str
    object: str
    fields: list[str]
    where: Any
    order_by: list[tuple[str, bool, bool]]  # field, descending, nulls_last
    limit: int | None
    literals: list[Any] = field(default_factory=list)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.pos = 0
        self.literals: list[Any] = []

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise _malformed(f"unexpected end of query: {self.soql}")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "keyword" and token.text == word:
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            token = self.peek()
            found = token.text if token else "end of query"
            raise _malformed(f"expecting {word}, found {found!r} in: {self.soql}")

    def ident(self) -> str:
        token = self.take()
        if token.kind != "ident":
            raise _malformed(f"expecting a field name, found {token.text!r}")
        return token.text

    def parse(self) -> ParsedQuery:
        self.expect_keyword("SELECT")
        fields = [self.ident()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.take()
            fields.append(self.ident())
        self.expect_keyword("FROM")
        obj = self.ident()
        where = None
        if self.keyword("WHERE"):
            where = self.condition()
        order_by: list[tuple[str, bool, bool]] = []
        if self.keyword("ORDER"):
            self.expect_keyword("BY")
            while True:
                name = self.ident()
                descending = False
                if self.keyword("DESC"):
                    descending = True
                else:
                    self.keyword("ASC")
                nulls_last = descending
                if self.keyword("NULLS"):
                    if self.keyword("LAST"):
                        nulls_last = True
                    else:
                        self.expect_keyword("FIRST")
                        nulls_last = False
                order_by.append((name, descending, nulls_last))
                token = self.peek()
                if token is None or token.text != ",":
                    break
                self.take()
        limit = None
        if self.keyword("LIMIT"):
            token = self.take()
            if token.kind != "number":
                raise _malformed(f"LIMIT needs a number, found {token.text!r}")
            limit = int(token.text)
        token = self.peek()
        if token is not None:
            raise _malformed(f"unexpected token {token.text!r} in: {self.soql}")
        return ParsedQuery(
            self.soql, obj, fields, where, order_by, limit, self.literals
        )

    def condition(self) -> Any:
        items = [self.unary()]
        joiner: str | None = None
        while True:
            token = self.peek()
            if (
                token is None
                or token.kind != "keyword"
                or token.text not in {"AND", "OR"}
            ):
                break
            if joiner is not None and token.text != joiner:
                # SOQL refuses AND and OR at one level without parentheses.
                raise _malformed(f"mixing AND and OR needs parentheses: {self.soql}")
            joiner = token.text
            self.take()
            items.append(self.unary())
        return items[0] if joiner is None else BoolOp(joiner, items)

    def unary(self) -> Any:
        if self.keyword("NOT"):
            return Not(self.unary())
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.condition()
            closing = self.take()
            if closing.text != ")":
                raise _malformed(f"expecting ')', found {closing.text!r}")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.ident()
        if self.keyword("LIKE"):
            token = self.take()
            if token.kind != "string":
                raise _malformed("LIKE needs a string literal")
            self.literals.append(token.value)
            return Comparison(name, "LIKE", token.value, like_raw=token.raw)
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            opening = self.take()
            if opening.text != "(":
                raise _malformed("IN needs a parenthesised list")
            values = [self.value()]
            while True:
                token = self.take()
                if token.text == ")":
                    break
                if token.text != ",":
                    raise _malformed(f"unexpected token {token.text!r} in IN list")
                values.append(self.value())
            return Comparison(name, "NOT IN" if negated else "IN", values)
        if negated:
            raise _malformed("NOT must precede IN here")
        token = self.take()
        if token.kind != "op":
            raise _malformed(
                f"expecting an operator after {name}, found {token.text!r}"
            )
        return Comparison(name, token.text, self.value())

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            self.literals.append(token.value)
            return token.value
        if token.kind == "keyword" and token.text in {"NULL", "TRUE", "FALSE"}:
            return {"NULL": None, "TRUE": True, "FALSE": False}[token.text]
        if token.kind == "number":
            return float(token.text)
        if token.kind == "date":
            return date.fromisoformat(token.text).isoformat()
        if token.kind == "datetime":
            return _format_datetime(_parse_datetime(token.text))
        raise _malformed(f"unexpected token {token.text!r} where a value belongs")


def parse_soql(soql: str) -> ParsedQuery:
    return _Parser(soql).parse()


def _like(pattern_raw: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern_raw):
        c = pattern_raw[i]
        if c == "\\":
            parts.append(re.escape(_ESCAPES[pattern_raw[i + 1]]))
            i += 2
            continue
        parts.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _compare(left: Any, op: str, right: Any) -> bool:
    if op in {"=", "!="}:
        if isinstance(left, str) and isinstance(right, str):
            equal = left.lower() == right.lower()  # SOQL text compares case-blind
        else:
            equal = left == right
        return equal if op == "=" else not equal
    if left is None or right is None:
        return False
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


# ----------------------------------------------------------------------------
# Bulk API 2.0 jobs


@dataclass
class BulkJob:
    id: str
    object: str
    operation: str
    external_id_field: str
    state: str = "Open"
    data: str | None = None
    polls_left: int = 0
    successful: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    error_message: str = ""

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "externalIdFieldName": self.external_id_field,
            "state": self.state,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
            "numberRecordsProcessed": len(self.successful) + len(self.failed),
            "numberRecordsFailed": len(self.failed),
            "errorMessage": self.error_message or None,
        }


# ----------------------------------------------------------------------------
# Faults and records of traffic


@dataclass
class Fault:
    status: int | None = None
    error_code: str = "UNKNOWN_EXCEPTION"
    message: str = "simulated failure"
    exception: type[Exception] | Exception | None = None
    times: int = 1
    target: str = "api"  # api | login
    after_processing: bool = False
    when: Callable[[requests.PreparedRequest], bool] | None = None


@dataclass
class RecordedRequest:
    method: str
    host: str
    path: str
    timeout: Any
    session: str | None
    status: int | None = None  # None when the fake raised a network error


class _NoNetwork(BaseAdapter):
    """Refuses every request that the fake does not serve."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError(
            f"tests are offline: {urlsplit(request.url).netloc}"
        )

    def close(self) -> None:
        pass


class FakeSalesforce(BaseAdapter):
    """An in-process Salesforce org behind a requests transport adapter."""

    API_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d+)/(?P<rest>.*)$")

    def __init__(
        self,
        *,
        instance_host: str = "fake-practice.my.salesforce.com",
        username: str = "intake-api@example.org",
        password: str = "correct-horse",
        security_token: str = "tok123",
        page_size: int = 2000,
        bulk_polls_before_complete: int = 1,
    ) -> None:
        super().__init__()
        self.instance_host = instance_host
        self.username = username
        self.password = password
        self.security_token = security_token
        self.page_size = page_size
        self.bulk_polls_before_complete = bulk_polls_before_complete
        self.schema = org_schema()
        self.records: dict[str, list[dict[str, Any]]] = {
            name: [] for name in self.schema
        }
        self.requests: list[RecordedRequest] = []
        self.queries: list[ParsedQuery] = []
        self.jobs: dict[str, BulkJob] = {}
        self.logins = 0
        self._sessions: set[str] = set()
        self._faults: list[Fault] = []
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # -- set-up and inspection --------------------------------------------------------

    @property
    def instance_url(self) -> str:
        return f"https://{self.instance_host}"

    def install(self, session: requests.Session) -> None:
        """Serve this session's Salesforce traffic; refuse everything else."""
        session.mount("https://", _NoNetwork())
        session.mount("http://", _NoNetwork())
        session.mount(f"{self.instance_url}/", self)
        for host in LOGIN_HOSTS:
            session.mount(f"https://{host}/", self)

    def issue_session(self) -> str:
        with self._lock:
            token = f"00DFAKE!{next(self._ids):06d}"
            self._sessions.add(token)
            return token

    def expire_sessions(self) -> None:
        """Every session issued so far is now invalid (as after a timeout)."""
        with self._lock:
            self._sessions.clear()

    def fail_next(self, status: int | None = None, **options: Any) -> Fault:
        """Answer the next matching request(s) with a failure; see ``Fault``."""
        fault = Fault(status=status, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_record(self, obj: str, values: dict[str, Any]) -> str:
        """Store a record as is (no checks): for states the API cannot create."""
        with self._lock:
            record = {"Id": self._new_id(obj), **values}
            self.records[obj].append(record)
            return str(record["Id"])

    def find(self, obj: str, **criteria: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records[obj]
            if all(r.get(k) == v for k, v in criteria.items())
        ]

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.host == self.instance_host]

    # -- transport --------------------------------------------------------------------

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        recorded = RecordedRequest(
            request.method or "", host, parts.path, timeout, token
        )
        with self._lock:
            self.requests.append(recorded)
            target = "login" if host in LOGIN_HOSTS else "api"
            fault = self._take_fault(request, target)
        if fault is not None and not fault.after_processing:
            return self._answer(recorded, self._fault_response(request, fault))
        try:
            if target == "login":
                response = self._login(request)
            elif host != self.instance_host:
                raise requests.ConnectionError(f"unknown host {host}")
            elif token not in self._sessions:
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            else:
                with self._lock:
                    response = self._route(request, parts.path, parts.query)
        except ApiError as error:
            body = [{"message": error.message, "errorCode": error.code}]
            response = _response(request, error.status, body)
        if fault is not None:
            return self._answer(recorded, self._fault_response(request, fault))
        return self._answer(recorded, response)

    @staticmethod
    def _answer(
        recorded: RecordedRequest, response: requests.Response
    ) -> requests.Response:
        recorded.status = response.status_code
        return response

    def close(self) -> None:
        pass

    def _take_fault(
        self, request: requests.PreparedRequest, target: str
    ) -> Fault | None:
        for fault in self._faults:
            if fault.target != target or (fault.when and not fault.when(request)):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def _fault_response(
        self, request: requests.PreparedRequest, fault: Fault
    ) -> requests.Response:
        if fault.exception is not None:
            raise (
                fault.exception
                if isinstance(fault.exception, Exception)
                else (fault.exception("simulated network failure"))
            )
        body_text = (
            request.body.decode()
            if isinstance(request.body, bytes)
            else (request.body or "")
        )
        # Like Salesforce, quote what was sent: the connector must not pass it on.
        message = f"{fault.message}; request {request.url} body {body_text}"
        return _response(
            request,
            fault.status or 500,
            [{"message": message, "errorCode": fault.error_code}],
        )

    def _new_id(self, obj: str) -> str:
        return f"{self.schema[obj].prefix}FAKE{next(self._ids):011d}"[:18]

    # -- login ------------------------------------------------------------------------

    def _login(self, request: requests.PreparedRequest) -> requests.Response:
        path = urlsplit(request.url or "").path
        if request.method != "POST" or not path.startswith("/services/Soap/u/"):
            return _response(request, 404, "Not Found", "text/plain")
        body = (
            request.body.decode()
            if isinstance(request.body, bytes)
            else str(request.body)
        )
        root = ET.fromstring(body)
        ns = {"n": "urn:partner.soap.sforce.com"}
        username = root.findtext(".//n:username", namespaces=ns)
        password = root.findtext(".//n:password", namespaces=ns)
        if username != self.username or password != self.password + self.security_token:
            fault = (
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body>'
                "<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>"
                "<faultstring>INVALID_LOGIN: Invalid username, password, security "
                "token; or user locked out.</faultstring><detail><sf:LoginFault>"
                "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
                "<sf:exceptionMessage>Invalid username, password, security token; or "
                f"user locked out: {username}</sf:exceptionMessage></sf:LoginFault>"
                "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
            return _response(request, 500, fault, "text/xml")
        self.logins += 1
        session = self.issue_session()
        version = path.rsplit("/", 1)[-1]
        answer = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse>'
            "<result><metadataServerUrl>"
            f"https://{self.instance_host}/services/Soap/m/{version}/00DFAKE"
            "</metadataServerUrl><passwordExpired>false</passwordExpired>"
            f"<serverUrl>https://{self.instance_host}/services/Soap/u/{version}/00DFAKE"
            f"</serverUrl><sessionId>{session}</sessionId><userId>005FAKE</userId>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return _response(request, 200, answer, "text/xml")

    # -- REST routing -----------------------------------------------------------------

    def _route(self, request: requests.PreparedRequest, path: str, query: str) -> Any:
        match = self.API_PATH.match(path)
        if not match:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        version = match["version"]
        segments = [unquote(s) for s in match["rest"].rstrip("/").split("/")]
        method = request.method or "GET"
        body = (
            request.body.decode() if isinstance(request.body, bytes) else request.body
        )
        if segments[0] == "sobjects" and len(segments) == 4:
            _, obj, field_name, value = segments
            if method == "PATCH":
                return self._upsert(request, version, obj, field_name, value, body)
            if method == "GET":
                return self._get_by_external_id(
                    request, version, obj, field_name, value
                )
        if segments[0] == "query" and method == "GET":
            if len(segments) == 1:
                soql = parse_qs(query).get("q", [""])[0]
                return self._query(request, version, soql)
            return self._query_more(request, version, segments[1])
        if segments[:2] == ["jobs", "ingest"]:
            return self._bulk(request, method, segments[2:], body)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _object(self, obj: str) -> ObjectSchema:
        schema = self.schema.get(obj)
        if schema is None:
            raise ApiError(
                404, "NOT_FOUND", f"The requested resource does not exist: {obj}"
            )
        return schema

    def _matching(self, obj: str, field_name: str, value: str) -> list[dict[str, Any]]:
        # External ids match case-blind unless the field is marked case-sensitive.
        return [
            r
            for r in self.records[obj]
            if isinstance(r.get(field_name), str)
            and r[field_name].lower() == value.lower()
        ]

    def _check_external_id(self, obj: str, field_name: str) -> ObjectSchema:
        schema = self._object(obj)
        if field_name not in schema.external_ids:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: "
                f"{field_name}",
            )
        return schema

    def _apply(
        self,
        obj: str,
        schema: ObjectSchema,
        record: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        for name, value in values.items():
            if name not in schema.fields or schema.fields[name] == "id":
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {obj}",
                )
            record[name] = _normalise(obj, schema, name, value)
        for name in schema.required:
            if record.get(name) in (None, ""):
                raise ApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{name}]",
                )

    def _upsert(
        self,
        request: requests.PreparedRequest,
        version: str,
        obj: str,
        field_name: str,
        value: str,
        body: str | None,
    ) -> requests.Response:
        schema = self._check_external_id(obj, field_name)
        try:
            values = json.loads(body or "{}")
        except json.JSONDecodeError:
            raise ApiError(400, "JSON_PARSER_ERROR", "Unexpected character") from None
        if not isinstance(values, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        if "Id" in values or field_name in values:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Do not specify Id or {field_name} in the request body",
            )
        matches = self._matching(obj, field_name, value)
        if len(matches) > 1:
            urls = [
                f"/services/data/v{version}/sobjects/{obj}/{r['Id']}" for r in matches
            ]
            return _response(request, 300, urls)
        if matches:
            record = dict(matches[0])
            self._apply(obj, schema, record, values)
            matches[0].update(record)
            return _response(request, 204, None)
        record = {"Id": self._new_id(obj), field_name: value, **schema.defaults}
        self._apply(obj, schema, record, values)
        self.records[obj].append(record)
        answer = {"id": record["Id"], "success": True, "errors": [], "created": True}
        return _response(request, 201, answer)

    def _present(
        self, obj: str, record: dict[str, Any], fields: list[str]
    ) -> dict[str, Any]:
        schema = self.schema[obj]
        shown: dict[str, Any] = {
            "attributes": {
                "type": obj,
                "url": f"/services/data/v59.0/sobjects/{obj}/{record['Id']}",
            }
        }
        for name in fields:
            shown[name] = self._value(obj, schema, record, name)
        return shown

    def _value(
        self, obj: str, schema: ObjectSchema, record: dict[str, Any], name: str
    ) -> Any:
        if name in schema.computed:
            return schema.computed[name](record)
        if name not in schema.fields:
            raise ApiError(
                400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj}'"
            )
        return record.get(name)

    def _get_by_external_id(
        self,
        request: requests.PreparedRequest,
        version: str,
        obj: str,
        field_name: str,
        value: str,
    ) -> requests.Response:
        schema = self._check_external_id(obj, field_name)
        matches = self._matching(obj, field_name, value)
        if not matches:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(matches) > 1:
            urls = [
                f"/services/data/v{version}/sobjects/{obj}/{r['Id']}" for r in matches
            ]
            return _response(request, 300, urls)
        return _response(
            request, 200, self._present(obj, matches[0], list(schema.fields))
        )

    # -- SOQL -------------------------------------------------------------------------

    def _query(
        self, request: requests.PreparedRequest, version: str, soql: str
    ) -> requests.Response:
        parsed = parse_soql(soql)
        schema = self._object(parsed.object)
        self.queries.append(parsed)
        rows = [r for r in self.records[parsed.object] if self._matches(parsed, r)]
        for name, descending, nulls_last in reversed(parsed.order_by):
            self._value(parsed.object, schema, {}, name)
            present = [r for r in rows if r.get(name) is not None]
            absent = [r for r in rows if r.get(name) is None]
            present.sort(key=lambda r: _sort_key(r.get(name)), reverse=descending)
            rows = present + absent if nulls_last else absent + present
        if parsed.limit is not None:
            rows = rows[: parsed.limit]
        shown = [self._present(parsed.object, r, parsed.fields) for r in rows]
        return self._page(request, version, shown, total=len(shown))

    def _page(
        self,
        request: requests.PreparedRequest,
        version: str,
        rows: list[dict[str, Any]],
        total: int,
    ) -> requests.Response:
        page, rest = rows[: self.page_size], rows[self.page_size :]
        answer: dict[str, Any] = {"totalSize": total, "done": not rest, "records": page}
        if rest:
            cursor = f"01gFAKE{next(self._ids):08d}-{self.page_size}"
            self._cursors[cursor] = rest
            answer["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}"
        return _response(request, 200, answer)

    def _query_more(
        self, request: requests.PreparedRequest, version: str, cursor: str
    ) -> requests.Response:
        rows = self._cursors.pop(cursor, None)
        if rows is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, version, rows, total=len(rows))

    def _matches(self, parsed: ParsedQuery, record: dict[str, Any]) -> bool:
        return parsed.where is None or self._holds(parsed.object, parsed.where, record)

    def _holds(self, obj: str, node: Any, record: dict[str, Any]) -> bool:
        if isinstance(node, BoolOp):
            results = [self._holds(obj, item, record) for item in node.items]
            return all(results) if node.op == "AND" else any(results)
        if isinstance(node, Not):
            return not self._holds(obj, node.item, record)
        left = self._value(obj, self.schema[obj], record, node.field)
        if node.op == "LIKE":
            return isinstance(left, str) and bool(_like(node.like_raw).fullmatch(left))
        if node.op in {"IN", "NOT IN"}:
            found = any(_compare(left, "=", v) for v in node.value)
            return found if node.op == "IN" else not found
        return _compare(left, node.op, node.value)

    # -- Bulk API 2.0 ---------------------------------------------------------------

    def _bulk(
        self, request: requests.PreparedRequest, method: str, rest: list[str], body: Any
    ) -> requests.Response:
        if not rest and method == "POST":
            spec = json.loads(body)
            obj = spec.get("object", "")
            if spec.get("operation") != "upsert" or spec.get("contentType") != "CSV":
                raise ApiError(400, "INVALIDJOB", "only CSV upsert jobs are faked")
            self._check_external_id(obj, spec.get("externalIdFieldName", ""))
            job = BulkJob(
                id=f"750FAKE{next(self._ids):011d}",
                object=obj,
                operation="upsert",
                external_id_field=spec["externalIdFieldName"],
            )
            self.jobs[job.id] = job
            return _response(request, 200, job.info())
        if not rest:
            raise ApiError(405, "METHOD_NOT_ALLOWED", "method not allowed")
        job = self.jobs.get(rest[0])
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(rest) == 1 and method == "GET":
            if job.state == "UploadComplete" and job.polls_left > 0:
                job.polls_left -= 1
                return _response(request, 200, {**job.info(), "state": "InProgress"})
            if job.state == "UploadComplete":
                job.state = "JobComplete"
            return _response(request, 200, job.info())
        if len(rest) == 1 and method == "PATCH":
            state = json.loads(body).get("state")
            if state == "UploadComplete" and job.state == "Open":
                job.state = "UploadComplete"
                job.polls_left = self.bulk_polls_before_complete
                self._process(job)
            elif state == "Aborted" and job.state in {"Open", "UploadComplete"}:
                job.state = "Aborted"
            else:
                raise ApiError(400, "INVALIDJOBSTATE", f"cannot move to {state}")
            return _response(request, 200, job.info())
        if rest[1:] == ["batches"] and method == "PUT":
            if job.state != "Open" or job.data is not None:
                raise ApiError(409, "INVALIDJOBSTATE", "the job accepts one upload")
            job.data = body.decode() if isinstance(body, bytes) else str(body)
            return _response(request, 201, None)
        results = {
            "successfulResults": ("sf__Id", "sf__Created", job.successful),
            "failedResults": ("sf__Id", "sf__Error", job.failed),
            "unprocessedRecords": ("", "", []),
        }
        if len(rest) == 2 and method == "GET" and rest[1] in results:
            first, second, rows = results[rest[1]]
            out = io.StringIO()
            header = [c for c in (first, second) if c] + job.columns
            writer = csv.DictWriter(
                out, fieldnames=header, quoting=csv.QUOTE_ALL, lineterminator="\n"
            )
            writer.writeheader()
            writer.writerows(rows)
            return _response(request, 200, out.getvalue(), "text/csv")
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def _process(self, job: BulkJob) -> None:
        schema = self.schema[job.object]
        reader = csv.DictReader(io.StringIO(job.data or ""))
        job.columns = list(reader.fieldnames or [])
        unknown = [c for c in job.columns if c not in schema.fields]
        if unknown:
            job.state = "Failed"
            job.error_message = f"InvalidBatch : Field name not found : {unknown[0]}"
            return
        seen: set[str] = set()
        for row in reader:
            key = row.get(job.external_id_field) or ""
            # An empty cell leaves a field as it is; #N/A clears it.
            values = {
                name: (None if cell == "#N/A" else cell)
                for name, cell in row.items()
                if name != job.external_id_field and cell != ""
            }
            try:
                if key.lower() in seen:
                    raise ApiError(
                        400,
                        "DUPLICATE_VALUE",
                        f"Duplicate external id specified: {key}",
                    )
                seen.add(key.lower())
                matches = self._matching(job.object, job.external_id_field, key)
                if len(matches) > 1:
                    raise ApiError(
                        300,
                        "DUPLICATE_EXTERNAL_ID",
                        f"{job.external_id_field}: more than one record found for "
                        f"external id field: {key}",
                    )
                if matches:
                    record = dict(matches[0])
                    self._apply(job.object, schema, record, values)
                    matches[0].update(record)
                    created = False
                else:
                    record = {
                        "Id": self._new_id(job.object),
                        job.external_id_field: key,
                        **schema.defaults,
                    }
                    self._apply(job.object, schema, record, values)
                    self.records[job.object].append(record)
                    created = True
                job.successful.append(
                    {"sf__Id": record["Id"], "sf__Created": str(created).lower(), **row}
                )
            except ApiError as error:
                job.failed.append(
                    {
                        "sf__Id": "",
                        "sf__Error": f"{error.code}:{error.message}:--",
                        **row,
                    }
                )


def _sort_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _response(
    request: requests.PreparedRequest,
    status: int,
    body: Any,
    content_type: str = "application/json;charset=UTF-8",
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = http.client.responses.get(status, "")
    response.url = request.url or ""
    response.request = request
    if body is None:
        content = b""
    elif isinstance(body, bytes):
        content = body
    elif isinstance(body, str):
        content = body.encode()
    else:
        content = json.dumps(body).encode()
    response._content = content
    response._content_consumed = True  # type: ignore[attr-defined]
    response.encoding = "utf-8"
    response.headers = CaseInsensitiveDict({"Content-Type": content_type})
    return response
