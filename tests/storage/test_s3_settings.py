"""Store settings for s3:// roots: one-line errors naming the field and the fix; OSS's virtual-hosted
addressing in the URLs actually signed; no secret in any repr. No network: presigning is local."""

import re

import pytest

from pipelines.config import ConfigError, StoreSettings, store_settings
from pipelines.resources import StoreResource
from pipelines.storage.files import as_root, is_remote

OSS = "https://s3.oss-cn-hangzhou.aliyuncs.com"
SECRET = "fccap-do-not-print-this-secret"


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "fccap-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name in ("FCCAP_STORE_ENDPOINT_URL", "FCCAP_STORE_ADDRESSING_STYLE", "FCCAP_STORE_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("style", "url"),
    [
        ("virtual", "https://fccap-data.s3.oss-cn-hangzhou.aliyuncs.com/history/polls/dt%3D2026-12-03/x.parquet"),
        ("path", "https://s3.oss-cn-hangzhou.aliyuncs.com/fccap-data/history/polls/dt%3D2026-12-03/x.parquet"),
    ],
    ids=["virtual", "path"],
)
def test_addressing_style_shapes_the_signed_url(fake_keys: None, style: str, url: str) -> None:
    root = as_root(
        "s3://fccap-data/history/", StoreSettings(endpoint_url=OSS, addressing_style=style, region="cn-hangzhou")
    )
    assert is_remote(root) and str(root) == "s3://fccap-data/history"
    signed = root.fs.url((root / "polls" / "dt=2026-12-03" / "x.parquet").path)
    assert signed.split("?")[0] == url
    assert "cn-hangzhou" in signed  # the signing region (SigV4 credential scope)
    assert SECRET not in signed


def test_a_local_root_stays_a_path() -> None:
    root = as_root("data/store")
    assert not is_remote(root) and str(root) == "data/store"


@pytest.mark.parametrize(
    ("values", "source", "message"),
    [
        (
            {"endpoint_url": "s3.oss-cn-hangzhou.aliyuncs.com"},
            "store",
            "store.endpoint_url: 's3.oss-cn-hangzhou.aliyuncs.com' must be a base URL like "
            "https://s3.oss-cn-hangzhou.aliyuncs.com (scheme, host, no path, no user:password@)",
        ),
        (
            {"addressing_style": "virtual-hosted"},
            "env",
            "FCCAP_STORE_ADDRESSING_STYLE: 'virtual-hosted' is not one of virtual, path, auto; OSS needs virtual",
        ),
        ({"region": "CN_Hangzhou"}, "store", "store.region: 'CN_Hangzhou' is not a region id; use e.g. cn-hangzhou"),
        (
            {"endpoint": OSS},
            "store",
            "store.endpoint: unknown field; the store settings are endpoint_url, addressing_style, region",
        ),
    ],
    ids=["endpoint-without-scheme", "style-typo-from-env", "region", "unknown-field"],
)
def test_bad_settings_name_the_field_and_the_fix(values: dict, source: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        store_settings(source, **values)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("gs://bucket/x", "only s3:// URIs"),
        ("s3://Bad_Bucket/x", "'Bad_Bucket' is not a bucket name; use s3://bucket/prefix"),
        ("s3://AKID:hunter2-secret@bucket/x", "'s3://***@bucket/x': no credentials in the URI"),
        ("gs://AKID:hunter2-secret@bucket/x", "'gs://***@bucket/x': only s3:// URIs"),
    ],
    ids=["scheme", "bucket", "credentials", "credentials-bad-scheme"],
)
def test_bad_roots_name_the_fix(root: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as e:
        as_root(root, StoreSettings())
    assert "hunter2-secret" not in str(e.value)


def test_resource_fields_win_over_the_environment_and_hold_no_secret(
    fake_keys: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FCCAP_STORE_ENDPOINT_URL", "https://s3.oss-cn-shanghai.aliyuncs.com")
    monkeypatch.setenv("FCCAP_STORE_REGION", "cn-shanghai")
    resource = StoreResource(root="s3://fccap-data/history", region="cn-hangzhou", addressing_style="path")
    settings = resource.settings()
    assert settings == StoreSettings(
        endpoint_url="https://s3.oss-cn-shanghai.aliyuncs.com", addressing_style="path", region="cn-hangzhou"
    )
    root = resource.store().root
    assert root.storage_options["endpoint_url"] == "https://s3.oss-cn-shanghai.aliyuncs.com"
    for text in (repr(resource), repr(settings), repr(root), str(root), repr(root.storage_options)):
        assert SECRET not in text
    with pytest.raises(ConfigError, match=r"^store\.addressing_style: 'hosted' is not one of"):
        StoreResource(root="s3://fccap-data/history", addressing_style="hosted").store()


@pytest.mark.parametrize(
    "url", ["https://AKID:hunter2-secret@s3.oss-cn-hangzhou.aliyuncs.com", "http://user:hunter2-secret@127.0.0.1:9000"]
)
def test_an_endpoint_with_credentials_is_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ConfigError) as e:
        store_settings("store", endpoint_url=url)
    assert "hunter2-secret" not in str(e.value)
    assert str(e.value).startswith("store.endpoint_url: '") and "no user:password@" in str(e.value)
