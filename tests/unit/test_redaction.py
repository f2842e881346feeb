"""Secrets and signature material never survive into recorded text."""

from pipelines.redaction import redact


def test_masks_known_secrets_and_signature_shapes() -> None:
    text = (
        "SignatureNotMatch: secret s3cr3t-VALUE token STS.abc "
        "Authorization: ACS3-HMAC-SHA256 Credential=ak,Signature=0123456789abcdef0123456789abcdef "
        "FC ak:Zo6uZB7HFPp72eefUJRn9OZ0at/VgM5GcLHIyR1Ztj0="
    )
    out = redact(text, ["s3cr3t-VALUE", "STS.abc", None])
    for leaked in ("s3cr3t-VALUE", "STS.abc", "0123456789abcdef0123", "Zo6uZB7HFPp72eef"):
        assert leaked not in out
    assert out.startswith("SignatureNotMatch: secret *** token ***")


def test_drops_everything_after_a_string_to_sign() -> None:
    out = redact("signature mismatch. StringToSign: GET\n\napplication/json\nThu ...")
    assert out == "signature mismatch. StringToSign: ***"


def test_long_messages_are_bounded() -> None:
    assert len(redact("x" * 5000)) == 501
