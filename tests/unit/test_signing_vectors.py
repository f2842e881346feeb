"""Known-answer tests for both signing schemes: every vector of shared/fc-api.md section 7."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import pytest

from pipelines.fc.signing import (
    EMPTY_SHA256,
    ACS3Auth,
    Credentials,
    CredentialsProvider,
    FCAuth,
    acs3_authorization,
    acs3_canonical_query,
    acs3_canonical_request,
    acs3_signature,
    fc_authorization,
    fc_string_to_sign,
    http_date,
    iso_date,
    query_text,
)

AK = "testAK"
SECRET = "testSecret"
STS_TOKEN = "STS.token123"
AT = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
DATE = "Thu, 03 Dec 2026 12:00:00 GMT"
NONCE = "3f1c2a9e8b7d6c5a4f3e2d1c0b9a8f7e"
HOST = "1234567890.cn-hangzhou.fc.aliyuncs.com"

P = "/2021-04-06/services/demoService/functions/demoFunction/instances"
P4 = "/2021-04-06/services/my-svc_01/functions/fn_a-b/instances"
JSON_DATE = {"content-type": "application/json", "date": DATE}


def test_fixed_clock_renders_both_date_formats() -> None:
    assert http_date(AT) == DATE
    assert iso_date(AT) == "2026-12-03T12:00:00Z"
    assert EMPTY_SHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- FC scheme (section 7.1) -----------------------------------------------------------------

FC_VECTORS = [
    pytest.param(
        P,
        JSON_DATE,
        None,
        f"GET\n\napplication/json\n{DATE}\n{P}",
        "FC testAK:Zo6uZB7HFPp72eefUJRn9OZ0at/VgM5GcLHIyR1Ztj0=",
        id="V1",
    ),
    pytest.param(
        P,
        {"date": DATE},
        None,
        f"GET\n\n\n{DATE}\n{P}",
        "FC testAK:J44EXLhEFbjik2JkKZK4bazeEKvVQEG6ZwmeocoTZ9U=",
        id="V1b",
    ),
    pytest.param(
        P,
        {**JSON_DATE, "x-fc-trace-id": "trace-1", "X-Fc-Account-Id": "1234567890"},
        None,
        f"GET\n\napplication/json\n{DATE}\nx-fc-account-id:1234567890\nx-fc-trace-id:trace-1\n{P}",
        "FC testAK:7kcxlLYbJPN/vz5mQFoGDvBgNiTjR5mrAcTy7LugZGE=",
        id="V1c",
    ),
    pytest.param(
        P,
        {**JSON_DATE, "x-fc-security-token": STS_TOKEN},
        None,
        f"GET\n\napplication/json\n{DATE}\nx-fc-security-token:STS.token123\n{P}",
        "FC testAK:ZuX9c/WpCBY6sHKpYtb26Ma9+yH79RJzE9KrDR22SMc=",
        id="V1d",
    ),
    pytest.param(
        "/2016-08-15/services/demoService.dev/functions/demoFunction/instances",
        JSON_DATE,
        None,
        f"GET\n\napplication/json\n{DATE}\n/2016-08-15/services/demoService.dev/functions/demoFunction/instances",
        "FC testAK:8nS1BgELWmstBmbpla9Kzkco3NhB+S6PrjKn6OQ7eNQ=",
        id="V1e",
    ),
    pytest.param(
        P,
        JSON_DATE,
        [("qualifier", "dev"), ("limit", "20")],
        f"GET\n\napplication/json\n{DATE}\n{P}\nlimit=20\nqualifier=dev",
        "FC testAK:ayYqXAPubypcCCYRAbVaIRQo/1RDn8ro0IIV+UxJPp0=",
        id="V2",
    ),
    pytest.param(
        P,
        JSON_DATE,
        [("qualifier", "dev"), ("instanceIds", "i-2"), ("limit", "20"), ("instanceIds", "i-1")],
        f"GET\n\napplication/json\n{DATE}\n{P}\ninstanceIds=i-1\ninstanceIds=i-2\nlimit=20\nqualifier=dev",
        "FC testAK:EbUmmokpfVnIe4XYu+UlWJi6ztkfXqbEnuUZDjFHExM=",
        id="V3",
    ),
    # Control-plane style ignores the query, so the instanceIds request signs exactly as V1.
    pytest.param(
        P,
        JSON_DATE,
        None,
        f"GET\n\napplication/json\n{DATE}\n{P}",
        "FC testAK:Zo6uZB7HFPp72eefUJRn9OZ0at/VgM5GcLHIyR1Ztj0=",
        id="V3-mgmt",
    ),
    pytest.param(
        P4,
        JSON_DATE,
        None,
        f"GET\n\napplication/json\n{DATE}\n{P4}",
        "FC testAK:hQz/G22lFGZ9IbNVv9WYobsj9cfYiDPjqrsBgMTA6Co=",
        id="V4",
    ),
    pytest.param(
        P4,
        JSON_DATE,
        [("prefix", "a b"), ("tag", "ünï"), ("limit", "20")],
        f"GET\n\napplication/json\n{DATE}\n{P4}\nlimit=20\nprefix=a b\ntag=ünï",
        "FC testAK:Ru6xp0g9lscgf2okS2xn6MAg6vpKo8N9Do6jMcjITQc=",
        id="V5",
    ),
    pytest.param(
        P,
        JSON_DATE,
        [],
        f"GET\n\napplication/json\n{DATE}\n{P}\n",
        "FC testAK:xB22zvVqzUqasYLz619nF/yE0nx65gjXggSVV6mryjY=",
        id="V6",
    ),
    # G2 and G3 are the gateway util on an already-sorted / absent query: they equal V2 and V6.
    pytest.param(
        P,
        JSON_DATE,
        [("limit", "20"), ("qualifier", "dev")],
        f"GET\n\napplication/json\n{DATE}\n{P}\nlimit=20\nqualifier=dev",
        "FC testAK:ayYqXAPubypcCCYRAbVaIRQo/1RDn8ro0IIV+UxJPp0=",
        id="G2",
    ),
    pytest.param(
        P,
        JSON_DATE,
        [],
        f"GET\n\napplication/json\n{DATE}\n{P}\n",
        "FC testAK:xB22zvVqzUqasYLz619nF/yE0nx65gjXggSVV6mryjY=",
        id="G3",
    ),
]


@pytest.mark.parametrize(("path", "headers", "signed_query", "string_to_sign", "authorization"), FC_VECTORS)
def test_fc_vector(
    path: str,
    headers: Mapping[str, str],
    signed_query: list[tuple[str, str]] | None,
    string_to_sign: str,
    authorization: str,
) -> None:
    sts = fc_string_to_sign("GET", path, headers, signed_query)
    assert sts == string_to_sign
    assert fc_authorization(AK, SECRET, sts) == authorization


def test_fc_method_is_upper_cased() -> None:
    assert fc_string_to_sign("get", P, JSON_DATE) == fc_string_to_sign("GET", P, JSON_DATE)


def test_fc_path_is_signed_url_decoded() -> None:
    # The server URL-decodes the path before comparing; fc2 signs the unescaped path.
    escaped = "/2021-04-06/services/demo%53ervice/functions/demoFunction/instances"
    assert fc_authorization(AK, SECRET, fc_string_to_sign("GET", escaped, JSON_DATE)) == (
        "FC testAK:Zo6uZB7HFPp72eefUJRn9OZ0at/VgM5GcLHIyR1Ztj0="
    )


def test_fc_signed_query_is_sorted_unlike_gateway_util_g1() -> None:
    """G1 is the gateway util keeping the sent order ``qualifier=dev&limit=20``; we always sort."""
    g1 = "FC testAK:tYXvpawp5pq2sRWRfrSmWQROAm1XSt+7lFR6+9wnPG4="
    sts = fc_string_to_sign("GET", P, JSON_DATE, [("qualifier", "dev"), ("limit", "20")])
    assert sts.endswith(f"{P}\nlimit=20\nqualifier=dev")
    assert fc_authorization(AK, SECRET, sts) == "FC testAK:ayYqXAPubypcCCYRAbVaIRQo/1RDn8ro0IIV+UxJPp0="
    assert fc_authorization(AK, SECRET, sts) != g1
    # The unsorted text reproduces G1 exactly, which pins what the quirk is.
    unsorted = f"GET\n\napplication/json\n{DATE}\n{P}\nqualifier=dev\nlimit=20"
    assert fc_authorization(AK, SECRET, unsorted) == g1


def test_fc_signed_query_empty_value_keeps_equals_sign() -> None:
    """A received ``?nextToken=`` (or ``?nextToken``) is the pair (nextToken, "").

    fc2 signs a string value as ``k=v`` even when empty, and the Go SDK does the same for
    ``url.Values`` parsed from a request; only an empty *list* gives a bare ``k``, and that
    list sends nothing on the wire. The value below was computed with ``fc2.auth.Auth``.
    """
    sts = fc_string_to_sign("GET", P, JSON_DATE, [("qualifier", "dev"), ("nextToken", "")])
    assert sts.endswith(f"{P}\nnextToken=\nqualifier=dev")
    assert fc_authorization(AK, SECRET, sts) == "FC testAK:2doAY/+WHa/v6HQW9GX10iaDMsPwBHPO0lIBStz4jwA="


# --- ACS3-HMAC-SHA256 (section 7.2) ----------------------------------------------------------

A1_HEADERS = {
    "accept": "application/json",
    "host": HOST,
    "user-agent": "test-agent/1.0",
    "x-acs-action": "ListInstances",
    "x-acs-content-sha256": EMPTY_SHA256,
    "x-acs-credentials-provider": "static_ak",
    "x-acs-date": "2026-12-03T12:00:00Z",
    "x-acs-signature-nonce": NONCE,
    "x-acs-version": "2021-04-06",
}
A1_SIGNED = (
    "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;"
    "x-acs-date;x-acs-signature-nonce;x-acs-version"
)
A4_SIGNED = (
    "accept;host;user-agent;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;"
    "x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version;x-fc-account-id"
)
M_SIGNED = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
B_HEADERS = {**A1_HEADERS, "x-acs-version": "2023-03-30"}
M_HEADERS = {k: A1_HEADERS[k] for k in M_SIGNED.split(";")}
A4_HEADERS = {
    **A1_HEADERS,
    "x-acs-action": "ListServices",
    "x-acs-credentials-provider": "static_sts",
    "x-acs-accesskey-id": AK,
    "x-acs-security-token": STS_TOKEN,
    "X-Fc-Account-Id": "1234567890",
}
FC3_INSTANCES = "/2023-03-30/functions/demoFunction/instances"

ACS3_VECTORS = [
    pytest.param(
        P,
        [("qualifier", "dev"), ("limit", "20")],
        A1_HEADERS,
        "limit=20&qualifier=dev",
        A1_SIGNED,
        "78ce0b872f5e0ec398e1734eab65d3271ed5232217697a406bc5649759783d00",
        "ca650e4da5d85f0d7463452ff30eabce6b46ab46c04a0b422371e769ecdc6773",
        id="A1",
    ),
    pytest.param(
        P,
        [("qualifier", "dev"), ("limit", "20"), ("instanceIds.1", "i-1"), ("instanceIds.2", "i-2")],
        A1_HEADERS,
        "instanceIds.1=i-1&instanceIds.2=i-2&limit=20&qualifier=dev",
        A1_SIGNED,
        "5798e84fc76323e3995a25ad55fd6f3e122c0282a1c6fb91dd77f7bb2a45fd2a",
        "66af78a76b414bddcbcaf98d8f93e6f6713e6ed5880b5e18432263dce7ac6848",
        id="A2",
    ),
    pytest.param(
        "/2021-04-06/services/my-svc_01/functions",
        [("limit", "20"), ("prefix", "a b"), ("startKey", "ünï")],
        {**A1_HEADERS, "x-acs-action": "ListFunctions"},
        "limit=20&prefix=a%20b&startKey=%C3%BCn%C3%AF",
        A1_SIGNED,
        "19f48231554b05867ff0ee971c452ee752d33bb86ba2834436ec6c1cf88617eb",
        "57a1e330c14fcafa494cf70e90ee3c93a37f1cf03d6825419c4471d5f2225586",
        id="A3",
    ),
    pytest.param(
        "/2021-04-06/services",
        [("limit", "20")],
        A4_HEADERS,
        "limit=20",
        A4_SIGNED,
        "ee4f0ed99a6e807d87a296f30ae671f5e464034a171f6fe019c6b30b0220aef3",
        "0247a828bdbed537e6f3cbbeb047b1d80280518a044b2bfe1112989f37ece111",
        id="A4",
    ),
    pytest.param(
        FC3_INSTANCES,
        [("qualifier", "dev"), ("limit", "20")],
        B_HEADERS,
        "limit=20&qualifier=dev",
        A1_SIGNED,
        "c1cebb184209348ca7d5867c8b0e5fc9aeccfab8e8f1cb5d8d6cb1833d9920f1",
        "fd840a5d1dbf0ba7d5ff42a6c89fe6b24e7fa8ba08e870f10d551112f36983da",
        id="B1",
    ),
    pytest.param(
        FC3_INSTANCES,
        [("qualifier", "dev"), ("limit", "20"), ("instanceIds", '["i-1","i-2"]'), ("withAllActive", "True")],
        B_HEADERS,
        "instanceIds=%5B%22i-1%22%2C%22i-2%22%5D&limit=20&qualifier=dev&withAllActive=True",
        A1_SIGNED,
        "00047f9014a56a673923ea362a8405e96a28958be757a2fd9c6e7e31a66b567f",
        "d36e1d05161ae997e71910ecdc73ccf644d192a045dde6c08d0477bc33a9070c",
        id="B2",
    ),
    pytest.param(
        "/2023-03-30/functions",
        [("limit", "100"), ("prefix", "a b"), ("nextToken", "tok/ü")],
        {**B_HEADERS, "x-acs-action": "ListFunctions"},
        "limit=100&nextToken=tok%2F%C3%BC&prefix=a%20b",
        A1_SIGNED,
        "7d94d534852575b912a99d4f83a89432466fbf0fbecd3663f908c0a189868f49",
        "be41a0bf56f27a7b42bd6f9dd276370d3725213045dec559dda54f9657fc1ae6",
        id="B3",
    ),
    # M1/M2: fc-api.md gives only the Signature; the hashes pinned here are the ones that HMAC to it.
    pytest.param(
        P,
        [("qualifier", "dev"), ("limit", "20")],
        M_HEADERS,
        "limit=20&qualifier=dev",
        M_SIGNED,
        "525cde0a659a9171303a62a6d18d7eb2f29861031094e2bb2d2997f45b21576f",
        "eac5f96f690411107e2aba00ca7dd944d09f837efe1047a97985548172cacb15",
        id="M1",
    ),
    pytest.param(
        FC3_INSTANCES,
        [("qualifier", "dev"), ("limit", "20"), ("instanceIds", '["i-1","i-2"]')],
        {**M_HEADERS, "host": "fcv3.cn-hangzhou.aliyuncs.com", "x-acs-version": "2023-03-30"},
        "instanceIds=%5B%22i-1%22%2C%22i-2%22%5D&limit=20&qualifier=dev",
        M_SIGNED,
        "ee500afb4386c7059569f5b017ced3c804beaacc23aa260cec1f6457ac8ac18c",
        "8cf1bca9143c0484634338971876ba5a3026af6588851fa8722ef8101d8a6a48",
        id="M2",
    ),
]


@pytest.mark.parametrize(
    ("path", "query", "headers", "canonical_query", "signed_headers", "request_hash", "signature"), ACS3_VECTORS
)
def test_acs3_vector(
    path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    canonical_query: str,
    signed_headers: str,
    request_hash: str,
    signature: str,
) -> None:
    assert acs3_canonical_query(query) == canonical_query
    canonical, signed = acs3_canonical_request("GET", path, query, headers)
    assert signed == signed_headers
    assert canonical.split("\n")[:3] == ["GET", path, canonical_query]
    assert hashlib.sha256(canonical.encode()).hexdigest() == request_hash
    assert acs3_signature(SECRET, canonical) == signature
    assert acs3_authorization(AK, signed, signature) == (
        f"ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders={signed_headers},Signature={signature}"
    )


def test_acs3_a1_full_canonical_request_and_authorization() -> None:
    canonical, signed = acs3_canonical_request("GET", P, [("qualifier", "dev"), ("limit", "20")], A1_HEADERS)
    assert canonical == (
        "GET\n"
        "/2021-04-06/services/demoService/functions/demoFunction/instances\n"
        "limit=20&qualifier=dev\n"
        "accept:application/json\n"
        "host:1234567890.cn-hangzhou.fc.aliyuncs.com\n"
        "user-agent:test-agent/1.0\n"
        "x-acs-action:ListInstances\n"
        "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-acs-credentials-provider:static_ak\n"
        "x-acs-date:2026-12-03T12:00:00Z\n"
        "x-acs-signature-nonce:3f1c2a9e8b7d6c5a4f3e2d1c0b9a8f7e\n"
        "x-acs-version:2021-04-06\n"
        "\n"
        "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert acs3_authorization(AK, signed, acs3_signature(SECRET, canonical)) == (
        "ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=accept;host;user-agent;x-acs-action;"
        "x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=ca650e4da5d85f0d7463452ff30eabce6b46ab46c04a0b422371e769ecdc6773"
    )


def test_acs3_header_values_trimmed_and_repeats_joined_sorted() -> None:
    canonical, signed = acs3_canonical_request(
        "GET", "", [], [("X-Fc-B", "  two "), ("x-fc-b", "one"), ("Host", " h ")], payload_hash="p"
    )
    assert canonical == "GET\n/\n\nhost:h\nx-fc-b:one,two\n\nhost;x-fc-b\np"
    assert signed == "host;x-fc-b"


def test_acs3_empty_query_value_keeps_equals_sign() -> None:
    assert acs3_canonical_query([("b", ""), ("a", "~*+ /")]) == "a=~%2A%2B%20%2F&b="


# --- httpx.Auth adapters end to end ----------------------------------------------------------


def _static(creds: Credentials) -> CredentialsProvider:
    return lambda: creds


WIRE = f"https://{HOST}"

ACS3_WIRE = [
    pytest.param(
        f"{WIRE}{P}?limit=20&qualifier=dev",
        "ListInstances",
        "2021-04-06",
        {},
        None,
        A1_SIGNED,
        "ca650e4da5d85f0d7463452ff30eabce6b46ab46c04a0b422371e769ecdc6773",
        id="A1",
    ),
    pytest.param(
        f"{WIRE}{P}?instanceIds.1=i-1&instanceIds.2=i-2&limit=20&qualifier=dev",
        "ListInstances",
        "2021-04-06",
        {},
        None,
        A1_SIGNED,
        "66af78a76b414bddcbcaf98d8f93e6f6713e6ed5880b5e18432263dce7ac6848",
        id="A2",
    ),
    pytest.param(
        f"{WIRE}/2021-04-06/services/my-svc_01/functions?limit=20&prefix=a+b&startKey=%C3%BCn%C3%AF",
        "ListFunctions",
        "2021-04-06",
        {},
        None,
        A1_SIGNED,
        "57a1e330c14fcafa494cf70e90ee3c93a37f1cf03d6825419c4471d5f2225586",
        id="A3",
    ),
    pytest.param(
        f"{WIRE}/2021-04-06/services?limit=20",
        "ListServices",
        "2021-04-06",
        {"X-Fc-Account-Id": "1234567890"},
        STS_TOKEN,
        A4_SIGNED,
        "0247a828bdbed537e6f3cbbeb047b1d80280518a044b2bfe1112989f37ece111",
        id="A4",
    ),
    pytest.param(
        f"{WIRE}{FC3_INSTANCES}?limit=20&qualifier=dev",
        "ListInstances",
        "2023-03-30",
        {},
        None,
        A1_SIGNED,
        "fd840a5d1dbf0ba7d5ff42a6c89fe6b24e7fa8ba08e870f10d551112f36983da",
        id="B1",
    ),
    pytest.param(
        f"{WIRE}{FC3_INSTANCES}?instanceIds=%5B%22i-1%22%2C%22i-2%22%5D&limit=20&qualifier=dev&withAllActive=True",
        "ListInstances",
        "2023-03-30",
        {},
        None,
        A1_SIGNED,
        "d36e1d05161ae997e71910ecdc73ccf644d192a045dde6c08d0477bc33a9070c",
        id="B2",
    ),
    pytest.param(
        f"{WIRE}/2023-03-30/functions?limit=100&nextToken=tok%2F%C3%BC&prefix=a+b",
        "ListFunctions",
        "2023-03-30",
        {},
        None,
        A1_SIGNED,
        "be41a0bf56f27a7b42bd6f9dd276370d3725213045dec559dda54f9657fc1ae6",
        id="B3",
    ),
]


@pytest.mark.parametrize(("url", "action", "version", "extra", "token", "signed_headers", "signature"), ACS3_WIRE)
def test_acs3_auth_flow_matches_vector(
    url: str,
    action: str,
    version: str,
    extra: dict[str, str],
    token: str | None,
    signed_headers: str,
    signature: str,
) -> None:
    provider = "static_sts" if token else "static_ak"
    request = httpx.Request(
        "GET", url, headers={"user-agent": "test-agent/1.0", "x-acs-credentials-provider": provider, **extra}
    )
    auth = ACS3Auth(
        _static(Credentials(AK, SECRET, token)),
        action=lambda _: action,
        version=version,
        clock=lambda: AT,
        nonce=lambda: NONCE,
    )
    flow = auth.auth_flow(request)
    signed = next(flow)
    assert signed is request
    assert signed.headers["authorization"] == (
        f"ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders={signed_headers},Signature={signature}"
    )
    assert signed.headers["x-acs-date"] == "2026-12-03T12:00:00Z"
    assert signed.headers["x-acs-signature-nonce"] == NONCE
    assert signed.headers["x-acs-content-sha256"] == EMPTY_SHA256
    with pytest.raises(StopIteration):
        next(flow)


def test_acs3_auth_flow_ignores_transport_headers() -> None:
    """httpx's Client adds accept-encoding/connection after we could know; they must stay unsigned."""
    request = httpx.Request(
        "GET",
        f"{WIRE}{P}?limit=20&qualifier=dev",
        headers={
            "user-agent": "test-agent/1.0",
            "x-acs-credentials-provider": "static_ak",
            "accept-encoding": "gzip, deflate",
            "connection": "keep-alive",
            "accept": "*/*",
        },
    )
    auth = ACS3Auth(
        _static(Credentials(AK, SECRET)),
        action=lambda _: "ListInstances",
        version="2021-04-06",
        clock=lambda: AT,
        nonce=lambda: NONCE,
    )
    signed = next(auth.auth_flow(request))
    assert signed.headers["accept"] == "application/json"
    assert signed.headers["authorization"].endswith(
        f"SignedHeaders={A1_SIGNED},Signature=ca650e4da5d85f0d7463452ff30eabce6b46ab46c04a0b422371e769ecdc6773"
    )


FC_WIRE = [
    pytest.param({}, None, "FC testAK:Zo6uZB7HFPp72eefUJRn9OZ0at/VgM5GcLHIyR1Ztj0=", id="V1"),
    pytest.param(
        {"x-fc-account-id": "1234567890", "x-fc-trace-id": "trace-1"},
        None,
        "FC testAK:7kcxlLYbJPN/vz5mQFoGDvBgNiTjR5mrAcTy7LugZGE=",
        id="V1c",
    ),
    pytest.param({}, STS_TOKEN, "FC testAK:ZuX9c/WpCBY6sHKpYtb26Ma9+yH79RJzE9KrDR22SMc=", id="V1d"),
]


@pytest.mark.parametrize(("extra", "token", "authorization"), FC_WIRE)
def test_fc_auth_flow_matches_vector(extra: dict[str, str], token: str | None, authorization: str) -> None:
    # The query is on the wire but the control plane does not sign it (V3-mgmt).
    request = httpx.Request("GET", f"{WIRE}{P}?qualifier=dev&limit=20&instanceIds=i-1", headers=extra)
    signed = next(FCAuth(_static(Credentials(AK, SECRET, token)), clock=lambda: AT).auth_flow(request))
    assert signed.headers["date"] == DATE
    assert signed.headers["content-type"] == "application/json"
    assert signed.headers["authorization"] == authorization
    assert signed.headers.get("x-fc-security-token") == token


# --- C1: query values become text once ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(20, "20", id="int"),
        pytest.param("20", "20", id="str"),
        pytest.param(0, "0", id="zero"),
        pytest.param(True, "True", id="true"),
        pytest.param(False, "False", id="false"),
        pytest.param("", "", id="empty"),
        pytest.param(1.5, "1.5", id="float"),
    ],
)
def test_query_text(value: object, text: str) -> None:
    assert query_text(value) == text


def test_query_text_rejects_unsupported_types() -> None:
    with pytest.raises(TypeError, match="list"):
        query_text(["i-1"])


def test_c1_int_and_str_limit_sign_identically() -> None:
    as_int = [(k, query_text(v)) for k, v in {"qualifier": "dev", "limit": 20}.items()]
    as_str = [(k, query_text(v)) for k, v in {"qualifier": "dev", "limit": "20"}.items()]
    assert as_int == as_str
    for query in (as_int, as_str):
        canonical, _ = acs3_canonical_request("GET", P, query, A1_HEADERS)
        assert acs3_signature(SECRET, canonical) == "ca650e4da5d85f0d7463452ff30eabce6b46ab46c04a0b422371e769ecdc6773"
        assert fc_authorization(AK, SECRET, fc_string_to_sign("GET", P, JSON_DATE, query)) == (
            "FC testAK:ayYqXAPubypcCCYRAbVaIRQo/1RDn8ro0IIV+UxJPp0="
        )


def test_c1_boolean_renders_capitalised_as_in_b2() -> None:
    query = [
        ("qualifier", "dev"),
        ("limit", query_text(20)),
        ("instanceIds", '["i-1","i-2"]'),
        ("withAllActive", query_text(True)),
    ]
    canonical, _ = acs3_canonical_request("GET", FC3_INSTANCES, query, B_HEADERS)
    assert acs3_signature(SECRET, canonical) == "d36e1d05161ae997e71910ecdc73ccf644d192a045dde6c08d0477bc33a9070c"


@pytest.mark.parametrize(
    ("query", "canonical_query", "fc_resource_tail"),
    [
        pytest.param([], "", "\n", id="zero-keys"),
        pytest.param([("limit", query_text(20))], "limit=20", "\nlimit=20", id="one-key"),
        pytest.param(
            [("qualifier", "dev"), ("limit", query_text(20)), ("prefix", "a b"), ("withAllActive", query_text(False))],
            "limit=20&prefix=a%20b&qualifier=dev&withAllActive=False",
            "\nlimit=20\nprefix=a b\nqualifier=dev\nwithAllActive=False",
            id="many-keys",
        ),
    ],
)
def test_c1_zero_one_many_query_keys(query: list[tuple[str, str]], canonical_query: str, fc_resource_tail: str) -> None:
    canonical, _ = acs3_canonical_request("GET", P, query, M_HEADERS)
    assert canonical.split("\n")[2] == canonical_query
    assert fc_string_to_sign("GET", P, JSON_DATE, query) == f"GET\n\napplication/json\n{DATE}\n{P}{fc_resource_tail}"
    # Control-plane style never signs the query, whatever it holds (V3-mgmt).
    assert fc_string_to_sign("GET", P, JSON_DATE, None) == f"GET\n\napplication/json\n{DATE}\n{P}"
