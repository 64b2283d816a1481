"""The marketing API end to end with the SDK's test kit: upload, job, results, refusals."""

from __future__ import annotations

import concurrent.futures
import io
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sklearn.metrics import adjusted_rand_score
from taas_marketing.app import create_marketing_app
from taas_marketing.generator import SyntheticData, generate
from taas_marketing.jobs import JobRunner
from taas_marketing.reactivation import TARGET_COLUMNS
from taas_marketing.schemas import SegmentationResult
from taas_marketing.validation import Limits
from taas_sdk import ModuleSettings
from taas_sdk.testing import ModuleClient

from module_support import contract_check

SECRET = "marketing-test-secret"
MAX_BYTES = 2_000_000
WAIT_S = 120.0
MIN_ARI = 0.75  # see test_segment.py for how this bound was chosen


@pytest.fixture
def app() -> Iterator[FastAPI]:
    jobs = JobRunner[SegmentationResult](workers=1, max_in_flight_per_tenant=2)
    app = create_marketing_app(
        ModuleSettings(signing_secret=SECRET),
        limits=Limits(max_bytes=MAX_BYTES, max_rows=60_000),
        jobs=jobs,
    )
    yield app
    jobs.shutdown(wait=True)


@pytest.fixture
def client(app: FastAPI) -> ModuleClient:
    return ModuleClient(app, tenant="bank-a")


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(3_000, 30_000, seed=21)


def upload(client: ModuleClient, content: bytes) -> str:
    answer = client.post("/uploads")
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    client.storage().put(key, content, "text/csv")  # what the bank's PUT to the URL does
    return key


def wait_for(client: ModuleClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        answer = client.get(f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def assert_problem(answer: Any, status: int, detail: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert detail in body["detail"]
    return body


def test_upload_gives_a_presigned_put_url_in_the_bank_storage(client: ModuleClient) -> None:
    answer = client.post("/uploads")
    assert answer.status_code == 201
    body = answer.json()
    assert body["key"].startswith("uploads/")
    assert body["key"].endswith(".csv")
    assert body["method"] == "PUT"
    assert body["url"].startswith(f"memory://{body['key']}?op=put")
    assert body["expires_in_s"] == 900


def test_a_generated_file_is_segmented_named_and_written_back(
    client: ModuleClient, data: SyntheticData
) -> None:
    key = upload(client, data.to_csv())
    answer = client.post(
        "/jobs", json={"upload_key": key, "segments": 6, "campaign": {"limit": 500}}
    )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["state"] in ("queued", "running")
    assert accepted["request"]["segments"] == 6

    job = wait_for(client, accepted["id"])
    assert job["state"] == "succeeded", job["error"]
    assert (job["progress"], job["stage"]) == (100, "done")
    result = job["result"]
    assert (result["customers"], result["transactions"]) == (3_000, 30_000)
    assert result["as_of"] == str(data.transactions["date"].max().date())
    assert sorted(s["name"] for s in result["segments"]) == sorted(data.truth.unique())
    quality = result["quality"]
    assert quality["measure"] == "silhouette"
    assert quality["k"] == 6
    assert 0 < quality["silhouette"] <= 1
    assert quality["davies_bouldin"] > 0

    storage = client.storage()
    segments = pd.read_csv(
        io.BytesIO(storage.get(result["outputs"]["assignments_csv"])), dtype={"customer_id": str}
    ).set_index("customer_id")
    assert len(segments) == 3_000
    truth = data.truth.loc[segments.index]
    assert adjusted_rand_score(truth, segments["segment_id"]) >= MIN_ARI

    targets = pd.read_csv(io.BytesIO(storage.get(result["outputs"]["targets_csv"])))
    assert list(targets.columns) == list(TARGET_COLUMNS)
    assert len(targets) == result["targets"] == 500
    assert set(targets["segment"]) <= {"dormant", "at risk"}
    assert targets["score"].is_monotonic_decreasing


def test_k_is_chosen_when_asked_for_auto(client: ModuleClient, data: SyntheticData) -> None:
    key = upload(client, data.to_csv())
    answer = client.post("/jobs", json={"upload_key": key})
    job = wait_for(client, answer.json()["id"])
    quality = job["result"]["quality"]
    assert quality["k_selection"] == "silhouette"
    assert len(job["result"]["segments"]) == quality["k"]
    assert quality["silhouette_by_k"][str(quality["k"])] == max(quality["silhouette_by_k"].values())


def test_another_bank_never_sees_the_job_nor_the_file(
    client: ModuleClient, data: SyntheticData
) -> None:
    key = upload(client, data.to_csv())
    job_id = client.post("/jobs", json={"upload_key": key, "segments": 4}).json()["id"]
    other = client.as_tenant("bank-b")
    assert_problem(other.get(f"/jobs/{job_id}"), 404, "no job")
    assert other.get("/jobs").json() == {"jobs": []}
    assert_problem(other.post("/jobs", json={"upload_key": key}), 404, "no object")
    wait_for(client, job_id)
    assert [job["id"] for job in client.get("/jobs").json()["jobs"]] == [job_id]


GOOD = b"customer_id,date,amount\nC1,2025-01-02,10.5\nC2,2025-02-03,7\nC3,2025-03-01,9\n"


@pytest.mark.parametrize(
    ("content", "status", "detail"),
    [
        (
            b"customer_id,day,value\nC1,2025-01-01,3\n",
            422,
            "missing column(s): amount, date; found: customer_id, day, value",
        ),
        (b"", 422, "the file is empty"),
        (b"customer_id,date,amount\n", 422, "a header but no transactions"),
        (GOOD + b"C4,yesterday,3\n", 422, "date is not an ISO 8601 date"),
        (GOOD + b"C4,2025-03-01,twelve\n", 422, "amount is not a number"),
        (
            b"customer_id,date,amount\n" + b"C1,2025-01-02,10.5\n" * 120_000,
            413,
            "this module reads at most",
        ),
    ],
    ids=["wrong-columns", "empty", "header-only", "bad-date", "bad-amount", "huge"],
)
def test_malformed_files_are_refused_at_submission(
    client: ModuleClient, content: bytes, status: int, detail: str
) -> None:
    key = upload(client, content)
    body = assert_problem(client.post("/jobs", json={"upload_key": key}), status, detail)
    assert body.get("hint") or body.get("errors")
    assert client.get("/jobs").json() == {"jobs": []}  # nothing was started


def test_a_bad_line_beyond_the_first_rows_fails_the_job_with_a_4xx(client: ModuleClient) -> None:
    rows = b"".join(f"C{i},2025-01-{1 + i % 28:02d},{i}\n".encode() for i in range(2_000))
    key = upload(client, b"customer_id,date,amount\n" + rows + b"C9,2025-01-05,n/a\n")
    answer = client.post("/jobs", json={"upload_key": key, "segments": 3})
    assert answer.status_code == 202
    job = wait_for(client, answer.json()["id"])
    assert job["state"] == "failed"
    assert job["error"]["status"] == 422
    assert job["error"]["errors"] == ["line 2002: amount is not a number ('n/a')"]


def test_more_segments_than_customers_fails_the_job_with_a_4xx(client: ModuleClient) -> None:
    key = upload(client, GOOD)
    job = wait_for(
        client, client.post("/jobs", json={"upload_key": key, "segments": 5}).json()["id"]
    )
    assert job["state"] == "failed"
    assert job["error"]["status"] == 422
    assert "too few" in job["error"]["detail"]


def test_invalid_requests_are_422_and_unknown_uploads_404(client: ModuleClient) -> None:
    assert_problem(
        client.post("/jobs", json={"upload_key": "uploads/x.csv", "segments": 1}), 422, "API"
    )
    assert_problem(client.post("/jobs", json={"upload_key": "../other-bank/x.csv"}), 422, "API")
    assert_problem(
        client.post(
            "/jobs", json={"upload_key": "uploads/x.csv", "campaign": {"segments": ["vip"]}}
        ),
        422,
        "API",
    )
    assert_problem(client.post("/jobs", json={"upload_key": "uploads/none.csv"}), 404, "no object")
    assert_problem(client.get("/jobs/" + "0" * 32), 404, "no job")


def test_calls_that_did_not_come_through_the_gateway_are_refused(app: FastAPI) -> None:
    assert TestClient(app).post("/uploads").status_code == 401


def test_the_openapi_examples_pass_the_platform_contract_check(app: FastAPI) -> None:
    """What the platform does when the module is submitted: a pretend tenant whose storage
    is an empty sandbox."""
    names = contract_check(app)
    assert "contract POST /jobs [invalid]" in names
    assert "contract POST /jobs [not-uploaded]" in names
    assert "contract GET /jobs/{job_id} [default]" in names


def restarted(client: ModuleClient) -> ModuleClient:
    """The same bank's client on a new module process over the same storages."""
    app = create_marketing_app(
        ModuleSettings(signing_secret=SECRET), limits=Limits(max_bytes=MAX_BYTES)
    )
    return ModuleClient(app, tenant=client.tenant, storages=client.storages)


def test_finished_jobs_outlive_the_module_process(
    client: ModuleClient, data: SyntheticData
) -> None:
    key = upload(client, data.to_csv())
    first = wait_for(client, client.post("/jobs", json={"upload_key": key}).json()["id"])
    second = wait_for(client, client.post("/jobs", json={"upload_key": key}).json()["id"])
    later = restarted(client)
    assert later.get(f"/jobs/{first['id']}").json() == first
    assert [job["id"] for job in later.get("/jobs").json()["jobs"]] == [second["id"], first["id"]]
    other = later.as_tenant("bank-b")
    assert_problem(other.get(f"/jobs/{first['id']}"), 404, "no job")
    assert other.get("/jobs").json() == {"jobs": []}


def test_a_job_cut_short_by_a_restart_reads_as_failed_with_a_hint(
    client: ModuleClient, data: SyntheticData
) -> None:
    key = upload(client, data.to_csv())
    job_id = client.post("/jobs", json={"upload_key": key}).json()["id"]
    record = client.storage().get(f"jobs/{job_id}.json")
    wait_for(client, job_id)
    client.storage().put(f"jobs/{job_id}.json", record)  # as if the process had died
    job = restarted(client).get(f"/jobs/{job_id}").json()
    assert job["state"] == "failed"
    assert job["error"]["hint"] == "submit the job again with the same upload_key"


def test_an_unreadable_record_is_left_out_not_a_500(client: ModuleClient) -> None:
    client.storage().put("jobs/" + "f" * 32 + ".json", b"{not json")
    assert client.get("/jobs").json() == {"jobs": []}
    assert_problem(client.get("/jobs/" + "f" * 32), 404, "no job")


def test_job_ids_are_checked_before_storage_is_touched(client: ModuleClient) -> None:
    assert client.get("/jobs/..%2F..%2Fsecret").status_code in (404, 422)
    assert client.get("/jobs/" + "A" * 32).status_code == 422


def test_a_huge_upload_is_refused_before_it_is_read(
    client: ModuleClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = upload(client, b"customer_id,date,amount\n" + b"C1,2025-01-02,10.5\n" * 120_000)
    monkeypatch.setattr(client.storage(), "get", lambda key: pytest.fail("the file was read"))
    assert_problem(client.post("/jobs", json={"upload_key": key}), 413, "reads at most")


def test_a_retry_with_the_same_idempotency_key_starts_no_second_job(
    client: ModuleClient, data: SyntheticData
) -> None:
    key = upload(client, data.to_csv())
    request = {"upload_key": key, "segments": 4}
    retry = {"Idempotency-Key": "campaign-2026-11"}
    first = client.post("/jobs", json=request, headers=retry)
    assert first.status_code == 202, first.text
    again = client.post("/jobs", json=request, headers=retry)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    wait_for(client, first.json()["id"])
    after_restart = restarted(client).post("/jobs", json=request, headers=retry)
    assert after_restart.json()["id"] == first.json()["id"]
    assert len(client.get("/jobs").json()["jobs"]) == 1

    changed = client.post("/jobs", json=request | {"segments": 5}, headers=retry)
    assert_problem(changed, 409, "used for a different request")
    # The same key is another bank's own key, not a reference to this bank's job.
    other = client.as_tenant("bank-b")
    assert_problem(other.post("/jobs", json=request, headers=retry), 404, "no object")


def test_concurrent_duplicates_start_one_job(client: ModuleClient, data: SyntheticData) -> None:
    key = upload(client, data.to_csv())
    request = {"upload_key": key, "segments": 3}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: client.post("/jobs", json=request, headers={"Idempotency-Key": "k1"}),
                range(4),
            )
        )
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
