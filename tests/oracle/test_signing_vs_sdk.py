"""Our signer against the official SDKs' own signing code, over seeded generated requests.

The oracles are ``alibabacloud_tea_openapi.utils.Utils.get_authorization`` (ACS3, as the Tea SDKs
call it), ``fc2.auth.Auth.sign_request`` (FC scheme) and the real 2021-04-06 Tea client with only
its send step stubbed. Every generator is a seeded ``random.Random``, so a failure reproduces.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from alibabacloud_fc_open20210406 import models as fc_models
from alibabacloud_fc_open20210406.client import Client as FcOpenClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from alibabacloud_tea_util import models as util_models
from darabonba.core import DaraCore
from darabonba.request import DaraRequest
from darabonba.response import DaraResponse
from fc2.auth import Auth as Fc2Auth

from pipelines.fc.signing import (
    EMPTY_SHA256,
    ACS3Auth,
    Credentials,
    FCAuth,
    acs3_authorization,
    acs3_canonical_request,
    acs3_signature,
    fc_authorization,
    fc_string_to_sign,
    http_date,
    iso_date,
)

CASES = 400
ACS3 = "ACS3-HMAC-SHA256"
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
# Characters whose encoding differs between the wire (urlencode: space as +) and the canonical
# query (RFC 3986: space as %20, * as %2A, ~ kept), plus multi-byte UTF-8.
VALUE_CHARS = "abcXYZ019-_. /+~*%&=?#:@,;'\"[]üï中é"
QUERY_KEYS = ["limit", "qualifier", "prefix", "startKey", "nextToken", "instanceIds", "withAllActive", "tag"]
X_FC_HEADERS = ["X-Fc-Account-Id", "x-fc-trace-id", "X-FC-Date", "x-fc-invocation-type", "X-Fc-Log-Type"]


def _name(rng: random.Random) -> str:
    """An FC resource name: a letter or underscore, then [A-Za-z0-9_-]."""
    return rng.choice(NAME_CHARS[:52] + "_") + "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(0, 24)))


def _path(rng: random.Random) -> str:
    svc, fn = _name(rng), _name(rng)
    return rng.choice(
        [
            f"/2021-04-06/services/{svc}/functions/{fn}/instances",
            f"/2021-04-06/services/{svc}/functions",
            "/2021-04-06/services",
            f"/2023-03-30/functions/{fn}/instances",
            "/2023-03-30/functions",
            f"/2016-08-15/services/{svc}.{_name(rng)}/functions/{fn}/instances",
        ]
    )


def _value(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.12:
        return ""
    if kind < 0.22:
        return str(rng.randint(0, 1000))
    if kind < 0.28:
        return rng.choice(["True", "False"])
    if kind < 0.34:
        return json.dumps([f"i-{rng.randint(0, 9)}" for _ in range(rng.randint(1, 3))], separators=(",", ":"))
    return "".join(rng.choice(VALUE_CHARS) for _ in range(rng.randint(1, 16)))


def _query(rng: random.Random) -> dict[str, str]:
    keys = rng.sample(QUERY_KEYS, rng.randint(0, 5))
    keys += [f"instanceIds.{i}" for i in range(1, rng.randint(1, 4))] if rng.random() < 0.2 else []
    return {k: _value(rng) for k in keys}


def _header_value(rng: random.Random) -> str:
    core = "".join(rng.choice("abcXYZ019-_.:/=;, ") for _ in range(rng.randint(1, 20))).strip() or "v"
    return rng.choice(["", " ", "  "]) + core + rng.choice(["", " ", "\t"])


def _x_fc_headers(rng: random.Random, *, case_twins: bool = False) -> dict[str, str]:
    headers = {name: _header_value(rng) for name in rng.sample(X_FC_HEADERS, rng.randint(0, 3))}
    if case_twins and headers and rng.random() < 0.3:
        # The same name twice in different case: ACS3 joins the trimmed values, sorted, with ",".
        name = rng.choice(list(headers))
        headers[name.swapcase()] = _header_value(rng)
    return headers


def _key(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(NAME_CHARS[:62]) for _ in range(rng.randint(6, 24)))


@dataclass(frozen=True)
class Acs3Case:
    method: str
    host: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    content_type: str | None
    creds: Credentials
    action: str
    version: str
    at: datetime
    nonce: str

    def tea_request(self) -> DaraRequest:
        """The DaraRequest exactly as ``Client.do_request`` assembles it before signing."""
        request = DaraRequest()
        request.protocol = "HTTPS"
        request.method = self.method
        request.pathname = self.pathname
        request.query = dict(self.query)
        request.headers = {
            "host": self.host,
            "x-acs-version": self.version,
            "x-acs-action": self.action,
            "x-acs-date": iso_date(self.at),
            "x-acs-signature-nonce": self.nonce,
            "accept": "application/json",
            **self.headers,
            "x-acs-content-sha256": hashlib.sha256(self.body).hexdigest(),
        }
        if self.content_type:
            request.headers["content-type"] = self.content_type
        if self.creds.security_token:
            request.headers["x-acs-accesskey-id"] = self.creds.access_key_id
            request.headers["x-acs-security-token"] = self.creds.security_token
        return request


def _acs3_case(rng: random.Random) -> Acs3Case:
    token = _key(rng, "STS.") if rng.random() < 0.4 else None
    headers = _x_fc_headers(rng, case_twins=True)
    if rng.random() < 0.8:
        headers["user-agent"] = rng.choice(["test-agent/1.0", "AlibabaCloud (Linux; x86_64) Python/3.11.9 TeaDSL/2"])
    if rng.random() < 0.7:
        headers["x-acs-credentials-provider"] = "static_sts" if token else "static_ak"
    method = rng.choice(["GET", "GET", "DELETE", "POST", "PUT"])
    body = b""
    content_type = None
    if method in ("POST", "PUT") and rng.random() < 0.7:
        body = json.dumps({"description": _value(rng), "n": rng.randint(0, 99)}, ensure_ascii=False).encode()
        content_type = "application/json; charset=utf-8"
    return Acs3Case(
        method=method,
        host=rng.choice(["1234567890.cn-hangzhou.fc.aliyuncs.com", "fcv3.cn-shanghai.aliyuncs.com", "127.0.0.1:9000"]),
        pathname=_path(rng),
        query=_query(rng),
        headers=headers,
        body=body,
        content_type=content_type,
        creds=Credentials(_key(rng, "LTAI"), _key(rng, ""), token),
        action=rng.choice(["ListInstances", "ListFunctions", "ListServices", "GetFunction"]),
        version=rng.choice(["2021-04-06", "2023-03-30"]),
        at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8)),
        nonce=hashlib.md5(rng.randbytes(8), usedforsecurity=False).hexdigest(),
    )


def _acs3_cases(seed: int) -> Iterator[Acs3Case]:
    rng = random.Random(seed)
    for _ in range(CASES):
        yield _acs3_case(rng)


def _tea_authorization(case: Acs3Case, request: DaraRequest) -> str:
    return TeaUtils.get_authorization(
        request,
        ACS3,
        request.headers["x-acs-content-sha256"],
        case.creds.access_key_id,
        case.creds.access_key_secret,
    )


def _assert_all_agree(results: list[tuple[object, str, str]], cases: int) -> None:
    assert len(results) == cases
    mismatches = [(case, ours, theirs) for case, ours, theirs in results if ours != theirs]
    assert mismatches == [], f"{len(mismatches)} of {cases} differ; first: {mismatches[0]}"


# --- ACS3: the pure functions against Utils.get_authorization ----------------------------------


def test_acs3_pure_functions_match_tea_get_authorization() -> None:
    results = []
    seen_empty_value = seen_sts = seen_space = seen_body = seen_twins = 0
    for case in _acs3_cases(seed=20261203):
        request = case.tea_request()
        theirs = _tea_authorization(case, request)
        canonical, signed = acs3_canonical_request(
            case.method, case.pathname, request.query.items(), request.headers, request.headers["x-acs-content-sha256"]
        )
        ours = acs3_authorization(
            case.creds.access_key_id, signed, acs3_signature(case.creds.access_key_secret, canonical)
        )
        results.append((case, ours, theirs))
        seen_empty_value += "" in case.query.values()
        seen_space += any(" " in v for v in case.query.values())
        seen_sts += case.creds.security_token is not None
        seen_body += bool(case.body)
        seen_twins += len({k.lower() for k in case.headers}) < len(case.headers)
    _assert_all_agree(results, CASES)
    # The generator really exercised the awkward inputs it claims to.
    assert min(seen_empty_value, seen_space, seen_sts, seen_body, seen_twins) >= 20


# --- ACS3: ACS3Auth over the wire URL the Tea SDK would send -----------------------------------


def test_acs3_auth_over_tea_wire_url_matches_tea() -> None:
    """Tea composes the wire URL with urlencode (space as ``+``); ACS3Auth must re-derive %20."""
    results = []
    plus_on_wire = 0
    for case in _acs3_cases(seed=7):
        tea = case.tea_request()
        theirs = _tea_authorization(case, tea)
        url = DaraCore.compose_url(tea)
        plus_on_wire += "+" in url.partition("?")[2]
        headers = dict(case.headers)
        if case.content_type:
            headers["content-type"] = case.content_type
        request = httpx.Request(case.method, url, headers=headers, content=case.body or None)
        auth = ACS3Auth(
            lambda case=case: case.creds,
            action=lambda _, case=case: case.action,
            version=case.version,
            clock=lambda case=case: case.at,
            nonce=lambda case=case: case.nonce,
        )
        signed = next(auth.auth_flow(request))
        results.append((url, signed.headers["authorization"], theirs))
    _assert_all_agree(results, CASES)
    assert plus_on_wire >= 50


# --- FC scheme: the pure functions and FCAuth against fc2.auth.Auth.sign_request ---------------


@dataclass(frozen=True)
class FcCase:
    method: str
    path: str
    headers: dict[str, str]
    queries: dict[str, str | list[str]] | None
    creds: Credentials

    def pairs(self) -> list[tuple[str, str]] | None:
        if self.queries is None:
            return None
        return [(k, v) for k, vs in self.queries.items() for v in ([vs] if isinstance(vs, str) else vs)]


def _fc_case(rng: random.Random, *, signed_query: bool) -> FcCase:
    if signed_query:
        # HTTP-trigger paths carry arbitrary text after the function name; we get it URL-encoded.
        tail = "".join(rng.choice(VALUE_CHARS.replace("%", "").replace("?", "").replace("#", "")) for _ in range(8))
        path = f"/2016-08-15/proxy/{_name(rng)}/{_name(rng)}/{tail}"
    else:
        path = _path(rng)
    token = _key(rng, "STS.") if rng.random() < 0.4 else None
    headers: dict[str, str] = {
        "date": http_date(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8))),
        "host": "1234567890.cn-hangzhou.fc.aliyuncs.com",
        "user-agent": "aliyun-fc-sdk-v2.5.2.python",
        **_x_fc_headers(rng),
    }
    if rng.random() < 0.7:
        headers["content-type"] = rng.choice(["application/json", "application/octet-stream", "text/plain"])
    if rng.random() < 0.2:
        headers["content-md5"] = _key(rng, "")
    if token:
        headers["x-fc-security-token"] = token
    queries: dict[str, str | list[str]] | None = None
    if signed_query:
        queries = {}
        for key in rng.sample(QUERY_KEYS, rng.randint(0, 5)):
            queries[key] = [_value(rng) for _ in range(rng.randint(1, 3))] if rng.random() < 0.3 else _value(rng)
    return FcCase(
        method=rng.choice(["GET", "get", "POST", "DELETE"]),
        path=path,
        headers=headers,
        queries=queries,
        creds=Credentials(_key(rng, "LTAI"), _key(rng, ""), token),
    )


@pytest.mark.parametrize("signed_query", [False, True], ids=["mgmt", "signed-query"])
def test_fc_pure_functions_match_fc2(signed_query: bool) -> None:
    rng = random.Random(53252 + signed_query)
    results = []
    seen_empty = seen_repeat = 0
    for _ in range(CASES):
        case = _fc_case(rng, signed_query=signed_query)
        fc2 = Fc2Auth(case.creds.access_key_id, case.creds.access_key_secret)
        theirs = fc2.sign_request(case.method, case.path, case.headers, case.queries)
        # We receive the path URL-encoded, as it is on the wire; fc2 is handed the unescaped one.
        sts = fc_string_to_sign(case.method, quote(case.path), case.headers, case.pairs())
        ours = fc_authorization(case.creds.access_key_id, case.creds.access_key_secret, sts)
        results.append((case, ours, theirs))
        pairs = case.pairs() or []
        seen_empty += any(v == "" for _, v in pairs)
        seen_repeat += len({k for k, _ in pairs}) < len(pairs)
    _assert_all_agree(results, CASES)
    if signed_query:
        assert seen_empty >= 20
        assert seen_repeat >= 20


def test_fc_auth_flow_matches_fc2_management_style() -> None:
    """FCAuth over httpx: Date from the clock, json content-type, STS header, query never signed."""
    rng = random.Random(2016_08_15)
    results = []
    for _ in range(CASES):
        case = _fc_case(rng, signed_query=False)
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8))
        extra = {k: v for k, v in case.headers.items() if k.lower().startswith("x-fc-") and k != "x-fc-security-token"}
        query = _query(rng)
        url = httpx.URL(f"https://1234567890.cn-hangzhou.fc.aliyuncs.com{quote(case.path)}", params=query)
        request = httpx.Request(case.method, url, headers=extra)
        signed = next(FCAuth(lambda case=case: case.creds, clock=lambda at=at: at).auth_flow(request))
        fc2_headers = {"date": http_date(at), "content-type": "application/json", **extra}
        if case.creds.security_token:
            fc2_headers["x-fc-security-token"] = case.creds.security_token
        fc2 = Fc2Auth(case.creds.access_key_id, case.creds.access_key_secret)
        theirs = fc2.sign_request(case.method, case.path, fc2_headers)
        results.append((url, signed.headers["authorization"], theirs))
    _assert_all_agree(results, CASES)


# --- The real Tea client, send step stubbed (fc-api.md 7.2 "Reproducing ACS3 with the SDK") ----

AT = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
NONCE = "3f1c2a9e8b7d6c5a4f3e2d1c0b9a8f7e"
ENDPOINT = "1234567890.cn-hangzhou.fc.aliyuncs.com"


@pytest.fixture
def tea_sent(monkeypatch: pytest.MonkeyPatch) -> list[DaraRequest]:
    """Freeze the Tea SDK's clock, nonce and user agent; record what it would send."""
    sent: list[DaraRequest] = []

    def do_action(request: DaraRequest, runtime_option: object = None) -> DaraResponse:
        sent.append(request)
        response = DaraResponse()
        response.status_code = 200
        response.headers = {"content-type": "application/json"}
        response.body = b"{}"
        return response

    monkeypatch.setattr(TeaUtils, "get_timestamp", staticmethod(lambda: iso_date(AT)))
    monkeypatch.setattr(TeaUtils, "get_nonce", staticmethod(lambda: NONCE))
    monkeypatch.setattr(TeaUtils, "get_user_agent", staticmethod(lambda user_agent: "test-agent/1.0"))
    monkeypatch.setattr(DaraCore, "do_action", staticmethod(do_action))
    return sent


def _tea_client(token: str | None) -> FcOpenClient:
    return FcOpenClient(
        open_api_models.Config(
            access_key_id="testAK", access_key_secret="testSecret", security_token=token, endpoint=ENDPOINT
        )
    )


def _list_instances(client: FcOpenClient) -> None:
    client.list_instances_with_options(
        "demoService",
        "demoFunction",
        fc_models.ListInstancesRequest(qualifier="dev", limit=20),
        fc_models.ListInstancesHeaders(),
        util_models.RuntimeOptions(),
    )


def _list_instances_ids(client: FcOpenClient) -> None:
    client.list_instances_with_options(
        "demoService",
        "demoFunction",
        fc_models.ListInstancesRequest(qualifier="dev", limit=20, instance_ids=["i-1", "i-2"]),
        fc_models.ListInstancesHeaders(),
        util_models.RuntimeOptions(),
    )


def _list_functions(client: FcOpenClient) -> None:
    client.list_functions_with_options(
        "my-svc_01",
        fc_models.ListFunctionsRequest(limit=20, prefix="a b", start_key="ünï"),
        fc_models.ListFunctionsHeaders(),
        util_models.RuntimeOptions(),
    )


def _list_services_sts(client: FcOpenClient) -> None:
    client.list_services_with_options(
        fc_models.ListServicesRequest(limit=20),
        fc_models.ListServicesHeaders(x_fc_account_id="1234567890"),
        util_models.RuntimeOptions(),
    )


def _list_functions_odd(client: FcOpenClient) -> None:
    client.list_functions_with_options(
        "svc",
        fc_models.ListFunctionsRequest(limit=100, next_token="tok/ü+*~ =&", prefix=""),
        fc_models.ListFunctionsHeaders(x_fc_trace_id="  trace-1 ", x_fc_account_id="1234567890"),
        util_models.RuntimeOptions(),
    )


@pytest.mark.parametrize(
    ("call", "token", "action", "signature"),
    [
        pytest.param(
            _list_instances,
            None,
            "ListInstances",
            "ca650e4da5d85f0d7463452ff30eabce6b46ab46c04a0b422371e769ecdc6773",
            id="A1",
        ),
        pytest.param(
            _list_instances_ids,
            None,
            "ListInstances",
            "66af78a76b414bddcbcaf98d8f93e6f6713e6ed5880b5e18432263dce7ac6848",
            id="A2",
        ),
        pytest.param(
            _list_functions,
            None,
            "ListFunctions",
            "57a1e330c14fcafa494cf70e90ee3c93a37f1cf03d6825419c4471d5f2225586",
            id="A3",
        ),
        pytest.param(
            _list_services_sts,
            "STS.token123",
            "ListServices",
            "0247a828bdbed537e6f3cbbeb047b1d80280518a044b2bfe1112989f37ece111",
            id="A4",
        ),
        # Pinned from the SDK itself: empty value, "+*~ =&/ü" in one value, a padded header value.
        pytest.param(
            _list_functions_odd,
            "STS.token123",
            "ListFunctions",
            "510532daa8b1c34166acee1d4453706a8c39da0b515bb0032a067473211c4378",
            id="odd-values",
        ),
    ],
)
def test_tea_client_and_acs3_auth_sign_identically(
    tea_sent: list[DaraRequest],
    call: Callable[[FcOpenClient], None],
    token: str | None,
    action: str,
    signature: str,
) -> None:
    call(_tea_client(token))
    assert len(tea_sent) == 1
    sent = tea_sent[0]
    theirs = sent.headers["Authorization"]
    assert theirs.endswith(f",Signature={signature}")

    # Same logical request through our adapter: the headers an httpx caller sets, then ACS3Auth.
    ours_headers = {k: v for k, v in sent.headers.items() if k.lower() in ("user-agent", "x-acs-credentials-provider")}
    ours_headers |= {k: v for k, v in sent.headers.items() if k.lower().startswith("x-fc-")}
    request = httpx.Request(sent.method, DaraCore.compose_url(sent), headers=ours_headers)
    auth = ACS3Auth(
        lambda: Credentials("testAK", "testSecret", token),
        action=lambda _: action,
        version="2021-04-06",
        clock=lambda: AT,
        nonce=lambda: NONCE,
    )
    signed = next(auth.auth_flow(request))
    assert signed.headers["authorization"] == theirs
    assert signed.headers["x-acs-content-sha256"] == EMPTY_SHA256


# Tea's real get_timestamp calls datetime.utcnow(), deprecated from Python 3.12 on.
@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
def test_tea_sdk_patches_do_not_leak() -> None:
    """After the fixture-using tests (file order), the SDK's own clock, nonce and sender are back."""
    assert TeaUtils.get_nonce() not in (NONCE, TeaUtils.get_nonce())
    assert TeaUtils.get_timestamp() != iso_date(AT)
    assert TeaUtils.get_user_agent("") != "test-agent/1.0"
    assert DaraCore.do_action.__module__ == "darabonba.core"
