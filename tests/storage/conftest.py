"""A real S3-compatible server for the object-storage tests: moto's server mode on 127.0.0.1.

One server per session on a free port; each test gets its own bucket, and the FCCAP_STORE_*
variables point the store at the server (path-style addressing: a bucket name is no DNS name
on 127.0.0.1). Credentials are fake and come from the environment, as in production.
"""

import logging
import socket
import uuid
from collections.abc import Iterator

import pytest

S3_KEY_ID = "fccap-test-key-id"
S3_SECRET = "fccap-test-secret-value"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_env(s3_endpoint: str) -> Iterator[str]:
    """The environment a deployment would set (for this module's tests); yields the endpoint."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": S3_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_EC2_METADATA_DISABLED": "true",  # never ask a metadata service for keys
            "FCCAP_STORE_ENDPOINT_URL": s3_endpoint,
            "FCCAP_STORE_ADDRESSING_STYLE": "path",
            "FCCAP_STORE_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        yield s3_endpoint


def make_bucket(endpoint: str) -> str:
    import boto3

    name = f"fccap-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    ).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_root(s3_env: str) -> str:
    """A fresh, empty store root ``s3://<new bucket>/store``."""
    return f"s3://{make_bucket(s3_env)}/store"
