"""The REST API: reading, validation, the token, limits, and that no client string reaches the disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import AUTHORISED

BAN = {
    "name": "my-ban",
    "base": "baseline",
    "export_controls": [{"exporter": "CHN", "stages": ["magnet"], "form": "ban", "start": 2026}],
}


def test_health_and_dataset(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["kinds"]["simulate"] == "available"
    assert health["kinds"]["plan"] == "available"
    datasets = client.get("/api/datasets").json()
    assert datasets["current"]["tables"]["production"] > 0
    rows = client.get("/api/datasets/current/tables/production", params={"limit": 3}).json()
    assert len(rows["rows"]) == 3 and rows["total"] > 3
    assert client.get("/api/datasets/current/tables/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/api/datasets/current/tables/production", params={"limit": 5000}).status_code == 422


def test_scenarios_listing_and_lookup(client: TestClient) -> None:
    names = {row["name"] for row in client.get("/api/scenarios").json()}
    assert {"baseline", "china-2025-controls"} <= names
    assert client.get("/api/scenarios/china-2025-controls").json()["scenario"]["export_controls"]
    assert client.get("/api/scenarios/schema").json()["title"] == "raremap scenario"
    for hostile in ("nope", "..%2Fbaseline", "%2Fetc%2Fpasswd", "baseline.yaml"):
        assert client.get(f"/api/scenarios/{hostile}").status_code == 404


def test_validate_json_and_yaml(client: TestClient) -> None:
    assert client.post("/api/scenarios/validate", json=BAN).json()["valid"] is True
    bad = client.post(
        "/api/scenarios/validate", json={**BAN, "export_controls": [{"exporter": "XXX"}]}
    ).json()
    assert bad["valid"] is False and any("export_controls[0]" in problem for problem in bad["problems"])
    yaml_text = "name: my-yaml\nbase: baseline\ndisruptions:\n  - {country: AUS, stage: mining, share_lost: 0.5, start: 2026}\n"
    answer = client.post(
        "/api/scenarios/validate", content=yaml_text, headers={"content-type": "application/yaml"}
    )
    assert answer.json()["valid"] is True
    small_alias = "name: my-alias\nbase: baseline\ndescription: &text about\nimporter: IND\n"
    assert client.post(
        "/api/scenarios/validate", content=small_alias, headers={"content-type": "application/yaml"}
    ).json()["valid"] is True
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    bomb = "name: x\n" + "\n".join(levels)
    refused = client.post(
        "/api/scenarios/validate", content=bomb, headers={"content-type": "application/yaml"}
    )
    assert refused.status_code == 400 and "holds more than 250,000 values" in refused.json()["detail"]
    not_json = client.post("/api/scenarios/validate", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "line 1 column 2" in not_json.json()["detail"]
    untyped = client.post("/api/scenarios/validate", content=b'{"name": "x"}')
    assert untyped.status_code == 415


def test_writes_need_the_token(client: TestClient) -> None:
    assert client.post("/api/scenarios", json=BAN).status_code == 401
    assert (
        client.post("/api/scenarios", json=BAN, headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    assert client.post("/api/runs", json={"scenario": "baseline"}).status_code == 401
    created = client.post("/api/scenarios", json=BAN, headers=AUTHORISED)
    assert created.status_code == 201
    assert "my-ban" in {row["name"] for row in client.get("/api/scenarios").json()}
    shadow = client.post("/api/scenarios", json={**BAN, "name": "baseline"}, headers=AUTHORISED)
    assert shadow.status_code == 422 and "built-in" in shadow.json()["detail"]
    traversal = client.post("/api/scenarios", json={**BAN, "name": "../../tmp/evil"}, headers=AUTHORISED)
    assert traversal.status_code == 422


def test_cookie_login_refuses_cross_site_posts(client: TestClient) -> None:
    assert client.get("/login", params={"token": "wrong"}).status_code == 401
    client.get("/login", params={"token": AUTHORISED["Authorization"].split()[1]}, follow_redirects=False)
    cross = client.post("/api/scenarios", json=BAN, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    same = client.post("/api/scenarios", json=BAN, headers={"Origin": "http://testserver"})
    assert same.status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"scenario": "baseline", "overrides": {"periods": {"start": 2024, "end": 2060}}},
            422,
            "above this server's limit",
        ),
        ({"scenario": "baseline", "kind": "simulate", "draws": 10**9}, 422, "draws"),
        ({"scenario": "baseline", "kind": "plan"}, 404, "no plan named"),
        ({"scenario": "../default", "kind": "plan"}, 404, "no plan named"),
        ({"scenario": "default", "kind": "plan", "scenarios": 101}, 422, "scenarios 101 is above"),
        ({"scenario": "default", "kind": "plan", "frontier": 6}, 422, "frontier 6 is above"),
        ({"scenario": "default", "kind": "plan", "scenarios": 0}, 422, ""),
        (
            {"scenario": "default", "kind": "plan", "overrides": {"budget_usd_million": 1}},
            422,
            "no overrides",
        ),
        ({"scenario": "../default", "kind": "risk"}, 404, "no risk file"),
        ({"scenario": "../../etc/passwd"}, 404, "no scenario"),
        ({"scenario": "baseline", "overrides": {"disruptions": [{"country": "ZZZ"}]}}, 422, "disruptions[0]"),
        ({"scenario": "baseline", "unknown": 1}, 422, ""),
    ],
)
def test_run_requests_are_checked(
    client: TestClient, body: dict[str, object], status: int, message: str
) -> None:
    answer = client.post("/api/runs", json=body, headers=AUTHORISED)
    assert answer.status_code == status
    assert message in str(answer.json())


def test_request_size_and_host_limits(client: TestClient) -> None:
    big = b"{" + b" " * 300_000 + b"}"
    assert client.post("/api/scenarios/validate", content=big).status_code == 413
    assert client.get("/api/health", headers={"Host": "attacker.example"}).status_code == 400


def test_no_cdn_docs_and_local_assets(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    reference = client.get("/api")
    assert reference.status_code == 200 and "/api/runs" in reference.text
    assert client.get("/openapi.json").json()["paths"]["/api/runs"]
    script = client.get("/static/plotly.min.js")
    assert script.status_code == 200 and len(script.content) > 1_000_000
    assert "PlotlyGeoAssets" in client.get("/static/geo-assets.js").text
    home = client.get("/")
    assert "http" not in "".join(line for line in home.text.splitlines() if "<script src" in line)
    assert 'data-plan="default"' in home.text and 'max="100"' in home.text and 'max="5"' in home.text


def test_metrics(client: TestClient) -> None:
    summary = client.get("/api/metrics", params={"importer": "IND"}).json()
    assert summary["importer"] == "IND" and "magnet" in summary["stages"]
    unknown = client.get("/api/metrics", params={"importer": "ZZZ"})
    assert unknown.status_code == 404 and "no country" in unknown.json()["detail"]
    assert client.get("/api/metrics", params={"importer": "ind"}).json()["importer"] == "IND"
    assert client.get("/api/metrics", params={"importer": "../x"}).status_code == 422
    # A valid element the data hold no figure for is a resource that does not exist, like a country.
    scandium = client.get("/api/metrics", params={"importer": "IND", "element": "Sc"})
    assert scandium.status_code == 404 and "no figure for element 'Sc'" in scandium.json()["detail"]


def test_no_client_path_reaches_the_filesystem(client: TestClient, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: secret\n", encoding="utf-8")
    for reference in (str(secret), f"..{secret}"):
        for kind in ("simulate", "risk", "plan"):
            answer = client.post("/api/runs", json={"scenario": reference, "kind": kind}, headers=AUTHORISED)
            assert answer.status_code in (404, 422)
        assert client.get(f"/api/scenarios/{reference}").status_code == 404
