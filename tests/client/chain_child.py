"""Run in a fresh process by test_credentials_sources: discover and poll with the default chain only.

The credentials library reads its environment variables when first imported, so each chain
source gets its own interpreter. Prints one JSON line: the key id used, poll counts, error codes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from pipelines.collect import discover, open_session, plan_polls, poll_all
from pipelines.config import load_targets
from pipelines.credentials import ProviderSet
from pipelines.fc.client import RetryPolicy


async def main(path: str) -> dict[str, object]:
    providers = ProviderSet()
    targets = load_targets(path)
    async with open_session(targets, provider_for=providers.for_target, retry=RetryPolicy(attempts=1)) as session:
        inventory = await discover(session)
        outcomes = await poll_all(session, plan_polls(inventory.rows))
    codes = {f.error.code for f in inventory.failures} | {o.error.code for o in outcomes if o.error}
    held = providers.base.current
    return {
        "access_key_id": held.access_key_id if held else None,
        "ok": sum(o.ok for o in outcomes),
        "failed": sum(not o.ok for o in outcomes) + len(inventory.failures),
        "codes": sorted(codes),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
