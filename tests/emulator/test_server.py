"""EmulatorServer: a real uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pipelines.emulator import EmulatorServer, ManualClock, World, create_app
from tests.emulator.conftest import ACCT, fc_auth, scenario


def test_serves_signed_requests_on_a_free_port_and_stops() -> None:
    app = create_app(World(scenario()), ManualClock(datetime(2026, 3, 2, 14, tzinfo=UTC)))
    with EmulatorServer(app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        port = int(server.url.rsplit(":", 1)[1])
        assert port > 0
        r = httpx.get(
            f"{server.url}/2021-04-06/services/svc-000/functions/fn-000/instances",
            params={"qualifier": "alias-000", "limit": 1000},
            headers={"X-Fc-Account-Id": ACCT},
            auth=fc_auth(),
        )
        assert r.status_code == 200
        assert r.headers["x-fc-request-id"]
        assert {i["versionId"] for i in r.json()["instances"]} == {"1"}
        assert httpx.get(f"{server.url}/_emulator/health").json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/_emulator/health", timeout=2)
