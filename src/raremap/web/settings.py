"""What the server is allowed to do: where its store is, its token, and the limits on each request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from raremap.reading_guard import REQUEST_LIMITS

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class WebSettings:
    """Settings of one server; the limits keep one request from occupying the machine.

    `allowed_hosts` guards against DNS rebinding: a page on another site cannot reach a loopback
    server through a name that resolves to 127.0.0.1, because the Host header would not match.
    """

    db_path: Path = Path("raremap.duckdb")
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    max_body_bytes: int = REQUEST_LIMITS.max_bytes
    max_draws: int = 20_000
    max_periods: int = 30
    max_plan_scenarios: int = 100
    max_frontier_points: int = 5
    max_pending_jobs: int = 16
    job_workers: int = 1
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    importer: str = "IND"
