"""The object store through the minio SDK (SeaweedFS locally, MinIO in production)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import timedelta

from minio import Minio
from minio.error import S3Error

from services.documents.service_layer.ports import StoredObject

META_PREFIX = "x-amz-meta-"


class MinioObjectStore:
    """``public_endpoint`` (host:port, https) is where browsers reach the store when it
    differs from the service's own address; download links are signed for it
    (signing is local: the region is given, so no request goes to that address)."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        secure: bool,
        *,
        public_endpoint: str = "",
        region: str = "us-east-1",
    ) -> None:
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.links = (
            Minio(public_endpoint, access_key=access_key, secret_key=secret_key, secure=True, region=region)
            if public_endpoint
            else self.client
        )

    def put(self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]) -> StoredObject:
        self.client.put_object(
            bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata=dict(metadata)
        )
        return StoredObject(key, metadata.get("sha256", ""), len(data), content_type)

    def create(
        self, bucket: str, key: str, data: bytes, content_type: str, metadata: Mapping[str, str]
    ) -> StoredObject | None:
        """PUT with ``If-None-Match: *``: S3, MinIO and SeaweedFS write the object only
        if the key is free, atomically, so a key is written once and never replaced.
        ``put_object`` takes no request headers, hence its one-request core
        ``_put_object`` (what ``put_object`` itself sends for a body this size)."""
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Content-Type": content_type,
            "If-None-Match": "*",
            **{f"{META_PREFIX}{name}": value for name, value in metadata.items()},
        }
        try:
            self.client._put_object(bucket, key, data, headers=headers)
        except S3Error as exc:
            if exc.code == "PreconditionFailed":
                return None
            raise
        return StoredObject(key, metadata.get("sha256", ""), len(data), content_type)

    def stat(self, bucket: str, key: str) -> StoredObject | None:
        try:
            found = self.client.stat_object(bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise
        meta = {k.lower(): v for k, v in (found.metadata or {}).items()}
        return StoredObject(
            key, meta.get(f"{META_PREFIX}sha256", ""), found.size or 0, found.content_type or "application/octet-stream"
        )

    def get(self, bucket: str, key: str) -> bytes:
        response = self.client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def link(self, bucket: str, key: str, ttl: timedelta) -> str:
        return self.links.presigned_get_object(bucket, key, expires=ttl)
