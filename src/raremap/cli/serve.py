"""`raremap serve`: the web API and dashboard on loopback, with a token for anything that writes or runs."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import replace
from pathlib import Path

import typer

from raremap.cli import app
from raremap.cli.output import console
from raremap.data.store import DEFAULT_PATH
from raremap.errors import RaremapError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind. Default: loopback only."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    db: Path = typer.Option(DEFAULT_PATH, "--db", help="DuckDB store for runs, jobs and saved scenarios."),
    max_draws: int = typer.Option(
        20_000, "--max-draws", min=1, help="Largest number of draws one request may ask for."
    ),
    max_periods: int = typer.Option(
        30, "--max-periods", min=1, help="Largest number of periods one run may have."
    ),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, reference at /api) and the dashboard."""
    try:
        import uvicorn

        from raremap.web.app import create_app
        from raremap.web.settings import LOOPBACK_HOSTS, WebSettings
    except ImportError as error:
        raise RaremapError(
            f"`raremap serve` needs the web extra ({error.name} is missing): pip install 'raremap[web]'"
        ) from error
    token = os.environ.get("RAREMAP_TOKEN") or None
    hosts = LOOPBACK_HOSTS if is_loopback(host) else ("*",)
    settings = WebSettings(
        db_path=db,
        max_draws=max_draws,
        max_periods=max_periods,
        allowed_hosts=hosts,
    )
    if token:
        settings = replace(settings, token=token)
    application = create_app(settings)
    if not is_loopback(host):
        console.print(
            f"[yellow]warning[/yellow]: serving on {host}, reachable from other machines; "
            "the token is all that protects writes and runs"
        )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"raremap serving {db} at http://{shown}:{port}/")
    if token is None:
        console.print(f"token (generated; set RAREMAP_TOKEN to choose one): {settings.token}")
        console.print(
            f"log in to the dashboard: http://{shown}:{port}/login?token={settings.token}", markup=False
        )
    uvicorn.run(application, host=host, port=port, log_level="warning")
