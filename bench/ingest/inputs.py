"""The ingest benchmark's inputs: one seeded set of events, as SDK jobs and as HTTP requests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from bench.workload import Job
from hub.domain.departments import Department


@dataclass(frozen=True)
class Request:
    """One event as a department system POSTs it: the route, whose token, the JSON body."""

    path: str
    department: Department
    body: bytes


def as_request(job: Job) -> Request:
    """The publish route of the job's type, and its submission as UTF-8 JSON (the body the SDK's
    ``publish_raw`` is handed as a dict)."""
    body = json.dumps(job.submission, ensure_ascii=False, separators=(",", ":")).encode()
    return Request(f"/v1/events/{job.event_type}", job.department, body)


def as_requests(jobs: Iterable[Job]) -> list[Request]:
    return [as_request(job) for job in jobs]


def auth_headers(tokens: dict[Department, str]) -> dict[Department, dict[str, str]]:
    """Each department's request headers: its bearer token, and the body's type."""
    return {dept: {"authorization": f"Bearer {token}", "content-type": "application/json"}
            for dept, token in tokens.items()}
