"""Fault injection: every kind seen by a real httpx client, seeded and reproducible, targeted, run-time controllable."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from pipelines.emulator import EmulatorServer, ManualClock, World, create_app, parse_scenario, scenario_to_dict
from pipelines.emulator.faults import (
    FaultInjector,
    FaultMiddleware,
    FaultSpec,
    classify,
    parse_fault_spec,
    parse_faults,
)
from tests.emulator.conftest import ACCT, HOST, OTHER_ACCT, Api, fc_auth, scenario

NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)
INSTANCES = "/2021-04-06/services/svc-000/functions/fn-000/instances"
FUNCTIONS = "/2021-04-06/services/svc-000/functions"


def _app(*faults: str, seed: int = 5) -> Starlette:
    return create_app(World(scenario(seed=seed)), ManualClock(NOW), faults=[parse_fault_spec(f) for f in faults])


def _get(api: Api, path: str, **kw: object) -> httpx.Response:
    return api.get(path, auth=fc_auth(), **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[EmulatorServer, FaultInjector]]:
    app = _app()
    with EmulatorServer(app) as s:
        yield s, app.state.faults


@pytest.fixture
def live(server: tuple[EmulatorServer, FaultInjector]) -> Iterator[tuple[str, FaultInjector]]:
    s, injector = server
    yield s.url, injector
    injector.clear()


def _http(url: str, path: str = INSTANCES, timeout: float = 5.0, **params: str) -> httpx.Response:
    return httpx.get(url + path, params=params, headers={"X-Fc-Account-Id": ACCT}, auth=fc_auth(), timeout=timeout)


# --- status faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("429", 429, "ResourceExhausted"),
        ("503", 503, "ResourceThrottled"),
        ("500", 500, "InternalServerError"),
        ("502", 502, "BadGateway"),
        ("504", 504, "GatewayTimeout"),
    ],
    ids=["429", "503", "500", "502", "504"],
)
def test_status_faults_answer_fc2_error_bodies_over_http(
    live: tuple[str, FaultInjector], kind: str, status: int, code: str
) -> None:
    url, injector = live
    injector.replace([parse_fault_spec(kind)])
    r = _http(url)
    assert r.status_code == status
    assert r.json() == {"ErrorCode": code, "ErrorMessage": r.json()["ErrorMessage"]}
    assert r.json()["ErrorMessage"]
    assert len(r.headers["x-fc-request-id"]) == 36
    assert "retry-after" not in r.headers
    assert "x-acs-retry-after" not in r.headers


@pytest.mark.parametrize("kind", ["429", "503"])
def test_throttling_carries_retry_after_in_seconds_and_milliseconds(kind: str) -> None:
    api = Api(_app(f"{kind},retry_after=3,retry_after_ms=2500"))
    r = _get(api, INSTANCES)
    assert r.status_code == int(kind)
    assert r.headers["retry-after"] == "3"
    assert r.headers["x-acs-retry-after"] == "2500"
    only_ms = _get(Api(_app(f"{kind},retry_after_ms=800")), INSTANCES)
    assert only_ms.headers["x-acs-retry-after"] == "800"
    assert "retry-after" not in only_ms.headers


def test_fc3_paths_get_pop_error_bodies_with_the_request_id() -> None:
    api = Api(_app("503,code=Throttling"))
    r = _get(api, "/2023-03-30/functions/svc-000$fn-000/instances")
    assert r.status_code == 503
    body = r.json()
    assert set(body) == {"Code", "Message", "RequestId"}
    assert body["Code"] == "Throttling"
    assert body["RequestId"] == r.headers["x-fc-request-id"]


# --- body faults over real HTTP ----------------------------------------------------------------


def test_latency_delays_the_answer_by_the_configured_seconds(live: tuple[str, FaultInjector]) -> None:
    url, injector = live
    started = time.monotonic()
    assert _http(url).status_code == 200
    baseline = time.monotonic() - started
    injector.replace([parse_fault_spec("latency,seconds=0.4")])
    started = time.monotonic()
    r = _http(url, qualifier="alias-000")
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert r.json()["instances"]
    assert 0.4 <= elapsed < 0.4 + baseline + 1.0


def test_stalled_body_times_out_a_short_client_read(live: tuple[str, FaultInjector]) -> None:
    url, injector = live
    injector.replace([parse_fault_spec("stall,seconds=5")])
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _http(url, timeout=0.3)
    assert time.monotonic() - started < 2.0


def test_stall_shorter_than_the_client_timeout_delivers_the_whole_body(live: tuple[str, FaultInjector]) -> None:
    url, injector = live
    expected = _http(url, qualifier="alias-000").json()
    injector.replace([parse_fault_spec("stall,seconds=0.3")])
    started = time.monotonic()
    r = _http(url, qualifier="alias-000", timeout=3.0)
    assert time.monotonic() - started >= 0.3
    assert r.json() == expected


def test_dropped_connection_is_a_protocol_error_for_httpx(live: tuple[str, FaultInjector]) -> None:
    url, injector = live
    injector.replace([parse_fault_spec("drop")])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)) as caught:
        _http(url, qualifier="alias-000")
    assert "expected" in str(caught.value) or isinstance(caught.value, httpx.ReadError)
    injector.clear()
    assert _http(url).status_code == 200  # the server is fine afterwards


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_bad_json_bodies_fail_parsing_with_a_consistent_length(live: tuple[str, FaultInjector], kind: str) -> None:
    url, injector = live
    good = _http(url, qualifier="alias-000").content
    injector.replace([parse_fault_spec(kind)])
    r = _http(url, qualifier="alias-000")
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.content != good
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    if kind == "truncated_json":
        assert good.startswith(r.content)
        assert len(r.content) == len(good) // 2
    else:
        assert len(r.content) == len(good)


def test_repeated_page_token_echoes_the_token_the_client_sent() -> None:
    api = Api(_app("repeat_token,action=ListFunctions"))
    first = _get(api, FUNCTIONS, params={"limit": "1"}).json()
    token = first["nextToken"]
    assert [f["functionName"] for f in first["functions"]] == ["fn-000"]
    second = _get(api, FUNCTIONS, params={"limit": "1", "nextToken": token}).json()
    assert [f["functionName"] for f in second["functions"]] == ["fn-001"]
    assert second["nextToken"] == token
    stats = _get(api, "/_emulator/stats").json()
    assert stats["faults"] == {"repeat_token": 1}
    assert stats["requests"]["ListFunctions"] == 2


# --- counting, seeding, targeting --------------------------------------------------------------


def test_times_two_fails_exactly_twice_then_succeeds() -> None:
    api = Api(_app("500,times=2,action=ListInstances"))
    statuses = [_get(api, INSTANCES).status_code for _ in range(5)]
    assert statuses == [500, 500, 200, 200, 200]


def test_consecutive_faults_script_a_sequence() -> None:
    api = Api(_app("500,times=2", "429,times=1,retry_after=1"))
    assert [_get(api, INSTANCES).status_code for _ in range(4)] == [500, 500, 429, 200]


def _outcomes(seed: int, n: int = 40) -> list[int]:
    api = Api(_app("503,p=0.5,function=fn-00[01]", seed=seed))
    paths = [INSTANCES, INSTANCES.replace("fn-000", "fn-001")]
    return [_get(api, paths[i % 2]).status_code for i in range(n)]


def test_same_seed_same_fault_sequence_other_seed_another() -> None:
    first, again, other = _outcomes(5), _outcomes(5), _outcomes(6)
    assert first == again
    assert first != other
    assert 8 <= first.count(503) <= 32  # p=0.5 of 40, not all or nothing
    assert set(first) == {200, 503}


def test_per_function_targeting_leaves_other_functions_untouched() -> None:
    api = Api(_app("500,function=fn-001", "504,action=GetFunction,service=svc-001"))
    for fn, status in (("fn-000", 200), ("fn-001", 500), ("fn-002", 200)):
        assert _get(api, INSTANCES.replace("fn-000", fn)).status_code == status
    assert _get(api, "/2021-04-06/services/svc-001/functions/fn-000").status_code == 504
    assert _get(api, "/2021-04-06/services/svc-000/functions/fn-000").status_code == 200
    assert _get(api, "/2021-04-06/services/svc-001/functions/fn-000/instances").status_code == 200
    assert _get(api, "/2021-04-06/services").status_code == 200


def test_qualifier_targeting_works_for_the_legacy_path_form() -> None:
    api = Api(_app("429,qualifier=alias-000"))
    legacy = "/2016-08-15/services/svc-000.alias-000/functions/fn-000/instances"
    assert _get(api, legacy).status_code == 429
    assert _get(api, INSTANCES, params={"qualifier": "alias-000"}).status_code == 429
    assert _get(api, INSTANCES).status_code == 200  # LATEST


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/2021-04-06/services", b"", ("ListServices", "", "", "LATEST")),
        ("/2021-04-06/services/s/functions", b"qualifier=q", ("ListFunctions", "s", "", "q")),
        ("/2021-04-06/services/s/functions/f", b"", ("GetFunction", "s", "f", "LATEST")),
        ("/2021-04-06/services/s/functions/f/instances", b"qualifier=prod", ("ListInstances", "s", "f", "prod")),
        ("/2021-04-06/services/s/aliases", b"", ("ListAliases", "s", "", "LATEST")),
        ("/2016-08-15/services/s.prod/functions/f/instances", b"", ("ListInstances", "s", "f", "prod")),
        ("/2016-08-15/services/s/functions", b"", ("ListFunctions", "s", "", "LATEST")),
        ("/2023-03-30/functions", b"", ("ListFunctions", "", "", "LATEST")),
        ("/2023-03-30/functions/f", b"qualifier=1", ("GetFunction", "", "f", "1")),
        ("/2023-03-30/functions/f/instances", b"", ("ListInstances", "", "f", "LATEST")),
        ("/2023-03-30/functions/f/aliases", b"", ("ListAliases", "", "f", "LATEST")),
        ("/2023-03-30/functions/f/versions", b"", (None, "", "f", "LATEST")),
        ("/2021-04-06/services/s/versions", b"", (None, "s", "", "LATEST")),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_classify_detects_the_action_for_every_api_version(
    path: str, query: bytes, expected: tuple[str | None, str, str, str]
) -> None:
    target = classify({"type": "http", "path": path, "query_string": query, "headers": [(b"host", HOST.encode())]})
    assert target is not None
    assert (target.action, target.service, target.function, target.qualifier) == expected
    assert target.account == ACCT
    assert target.v3 == path.startswith("/2023-03-30")


def test_classify_ignores_non_api_paths() -> None:
    assert classify({"type": "http", "path": "/_emulator/health", "headers": []}) is None
    assert classify({"type": "http", "path": "/favicon.ico", "headers": []}) is None


# --- rate limit --------------------------------------------------------------------------------


class _FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _rate_limited(fake: _FakeTime) -> Api:
    inner = create_app(World(scenario()), ManualClock(NOW))
    injector = FaultInjector([parse_fault_spec("rate_limit,rate=5,burst=5")], seed=1, monotonic=fake)
    return Api(FaultMiddleware(inner, injector))  # type: ignore[arg-type]


def test_rate_limit_burst_over_the_bucket_gets_429_with_retry_after() -> None:
    fake = _FakeTime()
    api = _rate_limited(fake)
    answers = [_get(api, INSTANCES) for _ in range(8)]
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 3
    assert answers[5].json()["ErrorCode"] == "ResourceExhausted"
    assert answers[5].headers["retry-after"] == "1"
    assert answers[5].headers["x-acs-retry-after"] == "200"  # one token at 5/s
    # Another account has its own bucket.
    other = api.get(
        INSTANCES,
        auth=fc_auth(ak="ak-other", sk="sk-other"),
        headers={"Host": f"{OTHER_ACCT}.cn-hangzhou.fc.aliyuncs.com"},
    )
    assert other.status_code != 429
    fake.now += 1.0
    assert [_get(api, INSTANCES).status_code for _ in range(6)] == [200] * 5 + [429]


def test_rate_limit_paced_at_the_rate_never_throttles() -> None:
    fake = _FakeTime()
    api = _rate_limited(fake)
    statuses = []
    for _ in range(30):
        statuses.append(_get(api, INSTANCES).status_code)
        fake.now += 0.2  # exactly 5/s
    assert statuses == [200] * 30


def test_rate_limit_in_real_time_over_http(live: tuple[str, FaultInjector]) -> None:
    url, injector = live
    injector.replace([parse_fault_spec("rate_limit,rate=5,burst=1")])
    with httpx.Client(base_url=url, headers={"X-Fc-Account-Id": ACCT}, auth=fc_auth(), timeout=5) as client:
        burst = [client.get(INSTANCES).status_code for _ in range(8)]
        # 8 back-to-back calls earn at most a few tokens at 5/s, however slow the machine is.
        assert burst.count(429) >= 2
        assert set(burst) == {200, 429}
        time.sleep(0.3)
        paced = []
        for _ in range(4):
            paced.append(client.get(INSTANCES).status_code)
            time.sleep(0.3)  # 3.3/s, under the limit
    assert paced == [200] * 4


# --- admin endpoints and configuration ---------------------------------------------------------


def test_admin_endpoints_replace_read_and_clear_faults_and_are_never_faulted() -> None:
    api = Api(_app("500"))  # matches every API call
    assert api.get("/_emulator/health").status_code == 200
    assert api.get("/_emulator/faults").json() == {"seed": 5, "faults": [{"kind": "500"}]}
    r = api.request(
        "POST", "/_emulator/faults", json=[{"kind": 429, "times": 1}, "latency,seconds=0,action=GetFunction"]
    )
    assert r.status_code == 200
    assert r.json()["faults"] == [
        {"kind": "429", "times": 1},
        {"kind": "latency", "action": "GetFunction", "seconds": 0.0},
    ]
    assert [_get(api, INSTANCES).status_code for _ in range(2)] == [429, 200]
    # Posting again starts the counters afresh.
    api.request("POST", "/_emulator/faults", json={"faults": [{"kind": "429", "times": 1}]})
    assert _get(api, INSTANCES).status_code == 429
    assert api.request("DELETE", "/_emulator/faults").json()["faults"] == []
    assert _get(api, INSTANCES).status_code == 200
    stats = api.get("/_emulator/stats").json()
    assert stats["requests"] == {"ListInstances": 4}
    assert stats["faults"] == {"429": 2}
    assert api.request("PUT", "/_emulator/faults").status_code == 405


def test_admin_rejects_bad_faults_naming_the_field() -> None:
    api = Api(_app())
    r = api.request("POST", "/_emulator/faults", json=[{"kind": "500"}, {"kind": "500", "probabilty": 0.5}])
    assert r.status_code == 400
    assert r.json()["ErrorCode"] == "InvalidArgument"
    assert "faults.1.probabilty: unknown field" in r.json()["ErrorMessage"]
    assert api.get("/_emulator/faults").json()["faults"] == []  # nothing half-applied


def test_scenario_faults_apply_and_round_trip() -> None:
    data = scenario_to_dict(scenario())
    data["faults"] = [{"kind": 503, "function": "fn-002", "retry_after": 2}]
    parsed = parse_scenario(data)
    assert parsed.faults == [FaultSpec(kind="503", function="fn-002", retry_after=2)]
    assert parse_scenario(scenario_to_dict(parsed)) == parsed
    api = Api(create_app(World(parsed), ManualClock(NOW)))
    assert _get(api, INSTANCES.replace("fn-000", "fn-002")).status_code == 503
    assert _get(api, INSTANCES).status_code == 200


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        ({"kind": "418"}, "faults.0.kind: Input should be"),
        ({"kind": "500", "probability": 2}, "faults.0.probability: Input should be less than or equal to 1"),
        ({"kind": "rate_limit"}, "rate is required for kind rate_limit"),
        ({"kind": "latency", "retry_after": 1}, "retry_after and retry_after_ms apply only to status kinds"),
        ({"kind": "500", "action": "ListThings"}, "faults.0.action: action 'ListThings' is not one of"),
        ({"kind": "500", "times": 0}, "faults.0.times: Input should be greater than or equal to 1"),
        ({"kind": "rate_limit", "rate": 1, "times": 2}, "probability and times do not apply to kind rate_limit"),
    ],
    ids=["kind", "probability", "rate", "retry_after", "action", "times", "rate_limit_times"],
)
def test_scenario_fault_validation_names_the_field(fault: dict[str, object], needle: str) -> None:
    data = scenario_to_dict(scenario())
    data["faults"] = [fault]
    with pytest.raises(ValueError, match="invalid scenario") as caught:
        parse_scenario(data)
    assert needle in str(caught.value)


def test_fault_spec_syntax() -> None:
    spec = parse_fault_spec("429, action=ListInstances, function=order-*, times=2, retry-after=1, p=0.5")
    assert spec == FaultSpec(
        kind="429", action="ListInstances", function="order-*", times=2, retry_after=1, probability=0.5
    )
    assert parse_fault_spec("rate_limit,rate=2.5").burst is None
    assert parse_faults(["drop,function=x"]) == [FaultSpec(kind="drop", function="x")]
    for bad, needle in [
        ("", "has no kind"),
        ("500,times", "is not field=value"),
        ("500,times=1,times=2", "sets times twice"),
        ("500,colour=red", "colour: unknown field"),
        ("stall,seconds=soon", "seconds: Input should be a valid number"),
    ]:
        with pytest.raises(ValueError, match="fault spec") as caught:
            parse_fault_spec(bad)
        assert needle in str(caught.value)
