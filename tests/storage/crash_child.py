"""Run one store operation in a child process that the crash tests SIGKILL at a named step.

usage: crash_child.py tick ROOT PAYLOAD_DIR TICK_AT | compact ROOT DAY | retention ROOT KEEP_FROM
"""

import sys
from datetime import date, datetime
from pathlib import Path


def main(argv: list[str]) -> None:
    action, root = argv[0], argv[1]  # a directory or an s3:// URI (settings from FCCAP_STORE_*)
    if action == "tick":
        import pandas as pd
        import pyarrow.parquet as pq

        from pipelines.storage.store import ParquetStore

        payload = Path(argv[2])
        frames = {
            t: pq.read_table(payload / f"{t}.parquet").to_pandas(types_mapper=pd.ArrowDtype)
            for t in ("polls", "instances")
        }
        ParquetStore(root).write_tick(datetime.fromisoformat(argv[3]), frames["polls"], frames["instances"])
    elif action == "compact":
        from pipelines.storage.compactor import compact_day

        compact_day(root, argv[2], raw_retention_s=0, temp_max_age_s=0)
    elif action == "retention":
        from pipelines.storage.retention import apply_retention

        for _ in range(2):  # the first run tombstones, the second purges
            apply_retention(root, date.fromisoformat(argv[2]), grace_s=0)
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main(sys.argv[1:])
