"""Size limits shared by the services, the gateway and the gRPC transport, so the
three cannot disagree. Standard library only: domain code may import it."""

from __future__ import annotations

# A photo (or other attachment) for an acta's photo field.
MAX_ATTACHMENT_MB = 10
MAX_ATTACHMENT_BYTES = MAX_ATTACHMENT_MB * 1024 * 1024
# What a gRPC message may add around the largest attachment (other fields, framing).
GRPC_MESSAGE_OVERHEAD_BYTES = 1024 * 1024
MAX_GRPC_MESSAGE_BYTES = MAX_ATTACHMENT_BYTES + GRPC_MESSAGE_OVERHEAD_BYTES


def base64_length(size: int) -> int:
    """Characters of the padded base64 text of ``size`` bytes."""
    return 4 * ((size + 2) // 3)
