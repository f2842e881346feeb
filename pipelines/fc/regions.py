"""The FC region ids this product knows, and the closest one to a typo."""

from __future__ import annotations

import difflib

__all__ = ["KNOWN_REGIONS", "closest_region", "is_known_region"]

# The union of the endpoint maps in alibabacloud_fc20230330 4.8.3 and alibabacloud_fc_open20210406
# 2.0.12 (`Client.__init__`); tests/unit/test_regions.py keeps it equal to what the installed SDKs list.
KNOWN_REGIONS: tuple[str, ...] = (
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-7",
    "cn-beijing",
    "cn-chengdu",
    "cn-hangzhou",
    "cn-hangzhou-finance",
    "cn-heyuan-acdr-1",
    "cn-hongkong",
    "cn-huhehaote",
    "cn-north-2-gov-1",
    "cn-qingdao",
    "cn-shanghai",
    "cn-shanghai-finance-1",
    "cn-shenzhen",
    "cn-wulanchabu",
    "cn-zhangjiakou",
    "eu-central-1",
    "eu-west-1",
    "me-central-1",
    "us-east-1",
    "us-west-1",
)


def is_known_region(region: str) -> bool:
    return region in KNOWN_REGIONS


def closest_region(region: str) -> str | None:
    """The known id most like ``region`` (difflib ratio >= 0.6), or None."""
    found = difflib.get_close_matches(region, KNOWN_REGIONS, n=1, cutoff=0.6)
    return found[0] if found else None
