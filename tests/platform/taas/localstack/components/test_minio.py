"""MinIO is real: bucket, object round trip and bucket policy with minio-py."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator

import pytest
from minio import Minio
from minio.error import S3Error
from minio.sse import SseS3

from taas.localstack.stack import LocalStack


@pytest.fixture
def minio(stack: LocalStack) -> Minio:
    env = stack.env()
    return Minio(
        env["TAAS_MINIO_ENDPOINT"],
        access_key=env["TAAS_MINIO_ROOT_USER"],
        secret_key=env["TAAS_MINIO_ROOT_PASSWORD"],
        secure=False,
    )


@pytest.fixture
def bucket(minio: Minio) -> Iterator[str]:
    name = f"smoke-{uuid.uuid4().hex[:12]}"
    minio.make_bucket(name)
    yield name
    for item in minio.list_objects(name, recursive=True):
        minio.remove_object(name, str(item.object_name))
    minio.remove_bucket(name)


def test_put_and_get_an_object(minio: Minio, bucket: str) -> None:
    payload = b"loan application 42\n" * 1000
    minio.put_object(bucket, "apps/42.txt", io.BytesIO(payload), len(payload))
    response = minio.get_object(bucket, "apps/42.txt")
    try:
        assert response.read() == payload
    finally:
        response.close()
        response.release_conn()


def test_server_side_encryption_with_the_built_in_kms(minio: Minio, bucket: str) -> None:
    payload = b"customer record"
    minio.put_object(bucket, "secret.txt", io.BytesIO(payload), len(payload), sse=SseS3())
    stat = minio.stat_object(bucket, "secret.txt")
    assert stat.metadata is not None
    assert stat.metadata.get("x-amz-server-side-encryption") == "AES256"


def test_set_and_read_a_bucket_policy(minio: Minio, bucket: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/public/*"],
            }
        ],
    }
    minio.set_bucket_policy(bucket, json.dumps(policy))
    stored = json.loads(minio.get_bucket_policy(bucket))
    assert stored["Statement"][0]["Action"] in (["s3:GetObject"], "s3:GetObject")
    assert f"arn:aws:s3:::{bucket}/public/*" in json.dumps(stored["Statement"][0]["Resource"])
    minio.delete_bucket_policy(bucket)
    with pytest.raises(S3Error) as missing:
        minio.get_bucket_policy(bucket)
    assert missing.value.code == "NoSuchBucketPolicy"
