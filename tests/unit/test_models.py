"""The wire model layer: tolerant where the versions disagree, strict where we depend on a field."""

from datetime import UTC, datetime

import pytest

from pipelines.fc.errors import AuthError, FatalError, MalformedAnswerError, RetriableError, classify
from pipelines.fc.models import parse_error_body, parse_function, parse_instances


@pytest.mark.parametrize("version", ["0", 0, "3", 3], ids=["str0", "int0", "str3", "int3"])
def test_version_id_as_string_or_number(version: object) -> None:
    [inst] = parse_instances({"instances": [{"instanceId": "c-1", "versionId": version}]})
    assert inst.version_id == str(version)


def test_fc3_instance_fields() -> None:
    [inst] = parse_instances(
        {
            "instances": [
                {
                    "instanceId": "c-1",
                    "versionId": "2",
                    "qualifier": "prod",
                    "status": "Running",
                    "createdTimeMs": 1764763200000,
                    "destroyedTimeMs": 0,
                    "resourceType": "Provisioned",
                }
            ],
            "requestId": "r",
        }
    )
    assert (inst.status, inst.resource_type, inst.destroyed_at) == ("Running", "Provisioned", None)
    assert inst.created_at == datetime(2025, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [{}, {"instances": "x"}, {"instances": [{"versionId": "0"}]}, {"instances": [{"instanceId": 7}]}, [], "x"],
    ids=["no-list", "wrong-type", "no-id", "id-not-str", "array", "string"],
)
def test_malformed_instances(body: object) -> None:
    with pytest.raises(MalformedAnswerError):
        parse_instances(body)


def test_empty_instances_is_zero_not_an_error() -> None:
    assert parse_instances({"instances": []}) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ErrorCode": "FunctionNotFound", "ErrorMessage": "no"}, ("FunctionNotFound", "no", None)),
        ({"errorCode": "AccessDenied", "errorMessage": "denied"}, ("AccessDenied", "denied", None)),
        ({"Code": "FunctionNotFound", "Message": "gone", "RequestId": "1-2"}, ("FunctionNotFound", "gone", "1-2")),
        ({"code": "Throttling", "message": "slow", "requestId": "r"}, ("Throttling", "slow", "r")),
    ],
    ids=["fc2", "fc2-camel", "fc3", "fc3-lower"],
)
def test_error_bodies_of_both_versions(body: dict, expected: tuple) -> None:
    err = parse_error_body(body)
    assert err is not None and (err.code, err.message, err.request_id) == expected


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "ResourceExhausted", RetriableError),
        (503, "ResourceThrottled", RetriableError),
        (0, "ResourceThrottled", RetriableError),  # FC 3.0 tables list status 0: the code decides
        (500, "InternalServerError", RetriableError),
        (502, "HTTP502", RetriableError),
        (403, "SignatureNotMatch", AuthError),
        (403, "AccessDenied", AuthError),
        (400, "InvalidArgument", FatalError),
        (404, "FunctionNotFound", FatalError),
    ],
)
def test_classification_by_code_then_status(status: int, code: str, kind: type) -> None:
    error = classify(status, code, "m", None)
    assert type(error) is kind


def test_fc3_function_gpu_from_gpu_config() -> None:
    spec = parse_function(
        {
            "functionName": "f",
            "memorySize": 4096,
            "cpu": 2,
            "gpuConfig": {"gpuMemorySize": 8192, "gpuType": "fc.gpu.tesla.1"},
        }
    )
    assert (spec.memory_mb, spec.cpu, spec.gpu_memory_mb, spec.instance_type) == (4096, 2.0, 8192, "fc.gpu.tesla.1")
