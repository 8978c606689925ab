"""An in-process stand-in for the Anthropic Messages and Message Batches APIs.

The real SDK talks to it through ``httpx2.MockTransport``, so retries, status
errors, structured-output parsing and batch result decoding are the SDK's own.
Every request body is kept, to prove what left the building.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

# Which prompt a request is, by the title of its output schema.
KINDS = {
    "RoutingAnswer": "routing",
    "MissingAnswer": "missing",
    "SummaryAnswer": "summary",
    "ReplyAnswer": "reply",
}

Answer = dict[str, Any] | str  # a dict is sent as JSON, a str as it is
Answerer = Callable[[str, dict[str, Any]], Answer]


def agreeing_routing(**labels: Any) -> dict[str, Any]:
    answer = {
        "request_type": "scheduling",
        "urgency": "routine",
        "patient_status": "existing",
        "queue": "front_desk",
        "stop_automation": False,
        "reasons": ["wants to book a visit"],
    }
    answer.update(labels)
    return answer


DEFAULT_ANSWERS: dict[str, Answer] = {
    "routing": agreeing_routing(),
    "missing": {"missing": []},
    "summary": {"summary": "[NAME_1] asks to book a visit."},
    "reply": {"reply": "Thank you, [NAME_1]. Our front desk team will follow up."},
}


@dataclass
class FakeAnthropic:
    """Answers by prompt kind; ``failures`` are served first, one per request."""

    answers: dict[str, Answer | Answerer] = field(
        default_factory=lambda: dict(DEFAULT_ANSWERS)
    )
    failures: list[int | str] = field(default_factory=list)
    batch_polls: int = 1  # retrieve() calls answered "in_progress" first
    batch_errored: set[str] = field(default_factory=set)  # custom ids that error
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    _batch_requests: list[dict[str, Any]] = field(default_factory=list)
    _polls: int = 0

    # -- plumbing ------------------------------------------------------------

    def http_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handle))

    def kinds(self) -> list[str]:
        """The prompt kind of every /v1/messages request, in order."""
        return [_kind(body) for body in self.bodies if "messages" in body]

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        if request.content:
            self.bodies.append(json.loads(request.content))
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "timeout":
                raise httpx2.ReadTimeout("timed out", request=request)
            return _error(int(failure))

        path = request.url.path
        if request.method == "POST" and path == "/v1/messages":
            return httpx2.Response(200, json=self._message(self.bodies[-1]))
        if request.method == "POST" and path == "/v1/messages/batches":
            self._batch_requests = list(self.bodies[-1]["requests"])
            return httpx2.Response(200, json=self._batch("in_progress"))
        if request.method == "GET" and path.endswith("/results"):
            lines = [json.dumps(self._batch_line(r)) for r in self._batch_requests]
            return httpx2.Response(200, content=("\n".join(lines) + "\n").encode())
        if request.method == "GET" and path.startswith("/v1/messages/batches/"):
            self._polls += 1
            done = self._polls > self.batch_polls
            return httpx2.Response(
                200, json=self._batch("ended" if done else "in_progress")
            )
        return _error(404)

    # -- answers -------------------------------------------------------------

    def _text(self, body: dict[str, Any]) -> str:
        kind = _kind(body)
        answer = self.answers[kind]
        if callable(answer):
            answer = answer(kind, body)
        return answer if isinstance(answer, str) else json.dumps(answer)

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"msg_{len(self.bodies):04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-test"),
            "content": [{"type": "text", "text": self._text(body)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 20},
        }

    def _batch(self, status: str) -> dict[str, Any]:
        count = len(self._batch_requests)
        ended = status == "ended"
        return {
            "id": "msgbatch_test",
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {
                "processing": 0 if ended else count,
                "succeeded": count if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-11-02T10:00:00Z",
            "expires_at": "2026-11-03T10:00:00Z",
            "ended_at": "2026-11-02T10:05:00Z" if ended else None,
            "results_url": (
                "https://api.anthropic.com/v1/messages/batches/msgbatch_test/results"
                if ended
                else None
            ),
        }

    def _batch_line(self, request: dict[str, Any]) -> dict[str, Any]:
        custom_id = request["custom_id"]
        if custom_id in self.batch_errored:
            result: dict[str, Any] = {
                "type": "errored",
                "error": {
                    "type": "error",
                    "error": {"type": "api_error", "message": "internal error"},
                },
            }
        else:
            body = dict(request["params"])
            result = {"type": "succeeded", "message": self._message(body)}
        return {"custom_id": custom_id, "result": result}


def _kind(body: dict[str, Any]) -> str:
    title = body["output_config"]["format"]["schema"]["title"]
    return KINDS[title]


def _error(status: int) -> httpx2.Response:
    kinds = {
        429: "rate_limit_error",
        529: "overloaded_error",
        401: "authentication_error",
    }
    body = {
        "type": "error",
        "error": {"type": kinds.get(status, "api_error"), "message": "fake error"},
    }
    # A tiny retry-after keeps the SDK's backoff out of the test's run time.
    return httpx2.Response(status, json=body, headers={"retry-after-ms": "1"})
