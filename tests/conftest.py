"""Suite-wide safety: no test may reach a cloud metadata service (the credentials chain's ECS step)."""

import os

# Set before any test module imports alibabacloud_credentials, which reads it at import time.
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
