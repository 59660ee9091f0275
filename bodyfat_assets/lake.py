"""The lake: object storage (a local folder embedded, an S3 bucket in production) and where each asset lies in it.

Both stores speak the same small interface, so the IO manager and the landing-zone code never branch on where the
lake lives: `store_from_url` reads the URL scheme, and that is the whole difference. Another object store (GCS,
Azure) is one more class here and one more scheme in `store_from_url`. `Lake` is the one object the rest of the code
receives (built by `Settings.lake`): its stores, and the key layout the IO manager writes and the CLIs read.

Own classes rather than a filesystem library: `pyarrow.fs` lists size and mtime but no ETag (S3's LastModified has
one-second resolution, so a file replaced within a second by one of the same size would look unchanged to the landing
sensor), and fsspec's `s3fs` needs aiobotocore, whose releases pin botocore below 1.43.118 while boto3 1.44.5 is pinned.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from bodyfat_assets.settings import Settings


@dataclass(frozen=True)
class StoredObject:
    """One listed object: enough to tell a new or changed version from one already seen, without reading it."""

    key: str
    """Relative to the store's root, e.g. `train/batch-1.csv`."""
    etag: str
    """Changes whenever the content may have changed: S3's ETag; size and mtime (ns) for a local file."""
    size: int
    mtime: float
    """Last modification, seconds since the epoch (S3: LastModified)."""


class ObjectStore(Protocol):
    """What the lake needs from storage. Stores subclass it to inherit `list_keys`."""

    url: str
    whole_when_listed: bool
    """True when a listed object is always complete (an S3 PUT is atomic); False when a writer may still be
    appending to it in place (a local file), so the landing sensor waits for it to settle."""

    def write_bytes(self, key: str, data: bytes) -> None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to `length` bytes from offset `start` (fewer at the end of the object)."""
        ...

    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...

    def list_objects(self, prefix: str = "") -> list[StoredObject]:
        """Objects whose key starts with `prefix`, sorted by key; dot-files (partial local writes) left out."""
        ...

    def list_keys(self, prefix: str = "") -> list[str]:
        return [obj.key for obj in self.list_objects(prefix)]

    def open_read(self, key: str) -> BinaryIO:
        """A seekable binary file over the object, read on demand: pyarrow streams a large file through it in
        bounded memory (a CSV front to back, a Parquet file by its footer and row groups)."""
        ...

    def put_file(self, key: str, path: str | Path) -> None:
        """Publish a finished local file as `key` in one step: readers see the previous object or the new one,
        never a part (large outputs are written to a local file first, then published)."""
        ...

    def move(self, source: str, destination: str) -> None:
        """Move an object without holding it in memory; the original stays if the copy fails."""
        ...


class LocalStore(ObjectStore):
    whole_when_listed = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: readers see the old object or the new one, never half of one
        except BaseException:  # a full disk left the partial dot-file behind, hidden from listings, for ever
            tmp.unlink(missing_ok=True)
            raise

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self._path(key), "rb") as file:
            file.seek(start)
            return file.read(length)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def list_objects(self, prefix: str = "") -> list[StoredObject]:
        # `prefix` is a key prefix, as on S3 ("x" lists "x/y" and "xy"): walk the deepest folder it names.
        folder = self._path(prefix) if prefix.endswith("/") else self._path(prefix).parent
        if not folder.is_dir():
            return []
        listed = []
        for path in folder.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if not key.startswith(prefix) or path.name.startswith("."):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed between the walk and the stat: not there any more
                continue
            if path.is_file():
                # Size + mtime stand in for an etag: any rewrite changes them, and listing stays cheap (no read).
                listed.append(StoredObject(key, f"{stat.st_size}-{stat.st_mtime_ns}", stat.st_size,
                                           stat.st_mtime_ns / 1e9))
        return sorted(listed, key=lambda obj: obj.key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def open_read(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def put_file(self, key: str, path: str | Path) -> None:
        destination = self._path(key)
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.tmp-{os.getpid()}")
        try:
            shutil.copyfile(path, tmp)
            tmp.replace(destination)  # atomic, as in write_bytes
        finally:
            tmp.unlink(missing_ok=True)

    def move(self, source: str, destination: str) -> None:
        target = self._path(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(source), target)  # a rename: atomic on one filesystem, no bytes copied


class S3Store(ObjectStore):
    whole_when_listed = True

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client: object = None) -> None:
        import boto3

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def read_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key),
                                              Range=f"bytes={start}-{start + length - 1}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # start at or past the end
                return b""
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def list_objects(self, prefix: str = "") -> list[StoredObject]:
        # The paginator, not dagster_aws's get_objects: the store also serves code outside Dagster (the tuning
        # worker, `bodyfat feed`), and get_objects' since-key filtering is what the landing cursor does already.
        strip = len(self.prefix) + 1 if self.prefix else 0
        listed = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            for obj in page.get("Contents", []):
                key = obj["Key"][strip:]
                if key and not key.endswith("/") and not key.rsplit("/", 1)[-1].startswith("."):
                    listed.append(StoredObject(key, str(obj["ETag"]).strip('"'), int(obj["Size"]),
                                               obj["LastModified"].timestamp()))
        return sorted(listed, key=lambda obj: obj.key)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])

    def open_read(self, key: str) -> BinaryIO:
        # Ranged GETs of 8 MB: a sequential CSV read costs one request per 8 MB, a Parquet footer one or two.
        return io.BufferedReader(RangeReader(self, key, self.size(key)), buffer_size=8 << 20)  # type: ignore[return-value]

    def put_file(self, key: str, path: str | Path) -> None:
        # boto3's managed upload: multipart above 8 MB, and the object appears only once the upload completes.
        self.client.upload_file(str(path), self.bucket, self._key(key))

    def move(self, source: str, destination: str) -> None:
        # Server-side copy (multipart for large objects): no byte passes through this process.
        self.client.copy({"Bucket": self.bucket, "Key": self._key(source)}, self.bucket, self._key(destination))
        if self.size(destination) != self.size(source):
            raise OSError(f"copy of {source} to {destination} does not match; original kept")
        self.delete(source)


class RangeReader(io.RawIOBase):
    """A read-only, seekable file over an object's byte ranges (`ObjectStore.read_range`), so pyarrow reads only
    the parts it needs: a Parquet footer, one row group, the next block of a CSV."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self.store, self.key, self.size, self.position = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.store.read_range(self.key, self.position, len(buffer))
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def store_from_url(url: str, endpoint_url: str | None = None) -> ObjectStore:
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Store(bucket, prefix, endpoint_url)
    if "://" in url and not url.startswith("file://"):
        raise ValueError(f"unsupported lake URL {url!r}: use a local path or s3://bucket/prefix")
    return LocalStore(url.removeprefix("file://"))


class Lake(BaseModel):
    """Where the lake lives and how to reach it, the stores over it, and the key of each asset's data in it."""

    model_config = ConfigDict(frozen=True)

    url: str
    """A local folder, or `s3://bucket/prefix`."""
    s3_endpoint_url: str | None = None
    landing_prefix: str = "landing"

    @property
    def landing_url(self) -> str:
        return f"{self.url.rstrip('/')}/{self.landing_prefix}"

    @cached_property
    def store(self) -> ObjectStore:
        return store_from_url(self.url, self.s3_endpoint_url)

    @cached_property
    def landing_store(self) -> ObjectStore:
        """The landing zone: where files arrive (`train/`, `score/`) and leave (`processed/`, `rejected/`)."""
        return store_from_url(self.landing_url, self.s3_endpoint_url)

    @staticmethod
    def stem_for(asset: Sequence[str], partition: str | None = None) -> str:
        """`<asset path>`, or `<asset path>/<partition>` for a partition: the key without its extension."""
        path = "/".join(asset)
        return f"{path}/{partition}" if partition else path

    @staticmethod
    def key_for(asset: Sequence[str], partition: str | None = None, extension: str = "parquet") -> str:
        """The key of an asset's (or one partition's) data: what the IO manager writes and the CLIs read."""
        return f"{Lake.stem_for(asset, partition)}.{extension}"

    def read_frame(self, key: str) -> pd.DataFrame | None:
        """The Parquet object at `key`, or None when there is none (yet)."""
        return parquet_to_frame(self.store.read_bytes(key)) if self.store.exists(key) else None


def landing_store(settings: Settings) -> ObjectStore:
    """The landing zone of the settings' lake, for the scripts and tests that hold settings."""
    return settings.lake.landing_store


def frame_to_parquet(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    return buffer.getvalue()


def parquet_to_frame(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


SPLITS_KEY = Lake.key_for(["bodyfat_splits"])
"""Where the IO manager keeps bodyfat_splits: read by processes that need the training rows without Dagster."""
