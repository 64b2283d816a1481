"""One crash-safety case, run end to end against the real stack and a real worker.

A drill prepares a tenant in the state the plan needs (fault-free), arms the fault on the
plan's step, starts the operation through the public API, kills the worker or takes a
system away at that step, waits for the operation to end, completes a failed one the way
an operator would (``retry``, subscribing again, running the plan again), checks the
result, scans every backend for the tenant, and offboards it. A plugin validation's
subject is a version of a module of its own instead (``crash_plugins``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from backend_scan import module_prefix, scan
from conftest import ControlPlane, Worker
from crash_matrix import Case, Outcome
from crash_plugins import FIRST_VERSION, NEXT_VERSION, Validations, operation_record
from outage_proxy import OutageProxy
from support import start_offboard, wait_for
from taas.integrations.systems import systems
from taas.kit.db import new_session
from taas.operations import faults
from taas.operations.models import Operation
from taas.operations.repository import OperationRepository

Json = dict[str, Any]
OPERATION_TIMEOUT_S = 240
OUTAGE_HOLD_S = 5.0  # longest outage, when the step's progress cannot be seen (PostgreSQL)
SLEEP_BEFORE_STEP_S = 1.5
TOKEN_REUSE_S = 60.0  # time to take the system away while the step is about to run
UPDATED_QUOTAS: Json = {"cpu": "3", "memory": "6Gi", "storage_gb": 5, "requests_per_second": 50}
GIB = 1024**3


@dataclass
class Subject:
    """What a case works on: its tenant and, for subscription plans, the module; for a
    validation, the version of its own module (no tenant: only a slug naming the case)."""

    tenant: Json
    module: str
    version: str = ""

    @property
    def label(self) -> str:
        """What the engine's fault injection knows the subject by."""
        return f"{self.module} {self.version}" if self.version else self.slug

    @property
    def id(self) -> str:
        return str(self.tenant["id"])

    @property
    def slug(self) -> str:
        return str(self.tenant["slug"])


class Drill:
    """Runs cases with ``worker`` (whose systems are reached through ``proxies``)."""

    def __init__(
        self,
        api: Any,
        plane: ControlPlane,
        worker: Worker,
        proxies: dict[str, OutageProxy],
        module: str,
        prefix: str,
        validations: Validations,
    ) -> None:
        self.api, self.plane, self.worker = api, plane, worker
        self.proxies, self.module, self.prefix = proxies, module, prefix
        self.validations = validations
        self._tokens: dict[str, tuple[str, float]] = {}
        self.restarts = 0  # times the worker exited by itself and was started again

    # ------------------------------------------------------------------ API helpers

    def headers(self, username: str = "test-operator") -> dict[str, str]:
        """An operator's bearer token, reused for a minute (tokens live five): fewer logins,
        fewer of Keycloak's spurious refusals under the load of other test sessions."""
        token, at = self._tokens.get(username, ("", 0.0))
        if time.monotonic() - at > TOKEN_REUSE_S:
            for attempt in range(3):
                try:
                    token = self.plane.token(username)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
                    time.sleep(1)
            self._tokens[username] = (token, time.monotonic())
        return {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Json | None = None, expect: int = 202) -> Json:
        response = self.api.post(path, json=body or {}, headers=self.headers())
        assert response.status_code == expect, response.text
        result: Json = response.json()
        return result

    def wait(self, subject: Subject, operation_id: str) -> Json:
        def finished() -> Json | None:
            self.supervise()
            operation = self.operation(subject, operation_id)
            return operation if operation["status"] in ("succeeded", "failed") else None

        result: Json = wait_for(
            finished, timeout=OPERATION_TIMEOUT_S, what=f"operation {operation_id}"
        )
        return result

    def supervise(self) -> None:
        """Start the worker again if it exited, as its supervisor (Kubernetes, systemd)
        would: the Celery worker exits when it loses its Redis broker."""
        process = self.worker.process
        if process is not None and process.poll() is not None:
            self.restarts += 1
            self.worker.process = None
            self.worker.start()

    def succeed(self, subject: Subject, operation_id: str) -> None:
        operation = self.wait(subject, operation_id)
        assert operation["status"] == "succeeded", operation

    def tenant(self, subject: Subject) -> Json:
        found: Json = self.api.get(f"/v1/tenants/{subject.id}", headers=self.headers()).json()
        return found

    def operation(self, subject: Subject, operation_id: str) -> Json:
        if subject.version:
            return operation_record(operation_id)
        listed = self.api.get(f"/v1/tenants/{subject.id}/operations", headers=self.headers())
        found: Json = next(op for op in listed.json() if op["id"] == operation_id)
        return found

    def step(self, subject: Subject, operation_id: str, name: str) -> Json:
        steps = self.operation(subject, operation_id)["steps"]
        found: Json = next(step for step in steps if step["name"] == name)
        return found

    # ------------------------------------------------------------------ preparing subjects

    def active_tenant(self) -> Subject:
        slug = f"{self.prefix}{uuid.uuid4().hex[:6]}"
        body = {"slug": slug, "display_name": "Drill Bank", "tier": "pool", "region": "cn-east-1"}
        accepted = self.post("/v1/tenants", body)
        subject = Subject(accepted["tenant"], self.module)
        self.succeed(subject, accepted["operation"]["id"])
        return subject

    def subscribe(self, subject: Subject, version: str = "1.0.0") -> str:
        body = {"module": subject.module, "version": version}
        return str(self.post(f"/v1/tenants/{subject.id}/subscriptions", body)["operation"]["id"])

    def offboard(self, subject: Subject, keep_days: int = 0) -> str:
        started = start_offboard(
            self.api,
            self.headers(),
            self.headers("test-operator-2"),
            subject.id,
            keep_data_days=keep_days,
        )
        assert isinstance(started, dict), started.text
        return str(started["id"])

    def rerun(self, subject: Subject, operation_id: str) -> str:
        """Start the plan of a failed operation again, as the operation it was."""
        with new_session() as session:
            failed = session.get(Operation, uuid.UUID(operation_id))
            assert failed is not None
            again = OperationRepository(session).start(
                lane=failed.lane,
                tenant_id=failed.tenant_id,
                kind=failed.kind,
                requested_by="crash drill",
                request_id=None,
                traceparent=None,
                params=dict(failed.params),
            )
            session.commit()
            return str(again.id)

    # ------------------------------------------------------------------ the plans

    def prepare(self, plan: str) -> Subject:
        if plan in ("provision", "validate_plugin"):
            slug = f"{self.prefix}{uuid.uuid4().hex[:6]}"
            if plan == "validate_plugin":
                return Subject({"id": "", "slug": slug}, module_prefix(slug), FIRST_VERSION)
            return Subject({"id": "", "slug": slug}, self.module)
        subject = self.active_tenant()
        if plan == "resume":
            self.succeed(subject, self.post(f"/v1/tenants/{subject.id}/suspend")["operation"]["id"])
        elif plan in ("offboard", "change_subscription", "unsubscribe"):
            self.succeed(subject, self.subscribe(subject))
        elif plan == "purge":
            self.succeed(subject, self.offboard(subject, keep_days=30))
        return subject

    def start(self, plan: str, subject: Subject) -> str:  # noqa: PLR0911 - one per plan
        tenants = f"/v1/tenants/{subject.id}"
        if plan == "provision":
            body = {"slug": subject.slug, "display_name": "Drill Bank", "tier": "pool",
                    "region": "cn-east-1"}  # fmt: skip
            accepted = self.post("/v1/tenants", body)
            subject.tenant = accepted["tenant"]
            return str(accepted["operation"]["id"])
        if plan in ("suspend", "resume"):
            return str(self.post(f"{tenants}/{plan}")["operation"]["id"])
        if plan == "update":
            quotas = {"quotas": UPDATED_QUOTAS}
            changed = self.api.patch(tenants, json=quotas, headers=self.headers())
            assert changed.status_code == 202, changed.text
            return str(changed.json()["operation"]["id"])
        if plan == "validate_plugin":
            return self.validations.submit(subject.module, subject.version)
        if plan == "offboard":
            return self.offboard(subject)
        if plan == "purge":
            return self.rerun_purge(subject)
        if plan == "subscribe":
            return self.subscribe(subject)
        path = f"{tenants}/subscriptions/{subject.module}"
        if plan == "change_subscription":
            moved = self.api.patch(path, json={"version": "1.1.0"}, headers=self.headers())
            assert moved.status_code == 202, moved.text
            return str(moved.json()["operation"]["id"])
        gone = self.api.delete(path, headers=self.headers())
        assert gone.status_code == 202, gone.text
        return str(gone.json()["operation"]["id"])

    def rerun_purge(self, subject: Subject) -> str:
        """The retention task's purge, started as that task does."""
        with new_session() as session:
            operation = OperationRepository(session).start(
                lane=f"tenant:{subject.id}",
                tenant_id=uuid.UUID(subject.id),
                kind="purge",
                requested_by="crash drill",
                request_id=None,
                traceparent=None,
            )
            session.commit()
            return str(operation.id)

    def recover(self, plan: str, subject: Subject, failed: str) -> tuple[str, str]:
        """Complete a failed operation as an operator would; returns (how, operation)."""
        if plan == "provision":
            return "retry", str(self.post(f"/v1/tenants/{subject.id}/retry")["operation"]["id"])
        if plan == "subscribe":
            return "subscribe again", self.subscribe(subject)
        if plan == "validate_plugin":  # an invalid version stays so: the vendor submits anew
            subject.version = NEXT_VERSION
            return "next version submitted", self.validations.submit(subject.module, NEXT_VERSION)
        return "run again", self.rerun(subject, failed)

    def check(self, plan: str, subject: Subject) -> None:
        """The state each plan promises once it succeeded."""
        if plan == "validate_plugin":
            self.validations.check(subject.module, subject.version, self.headers())
            return
        tenant = self.tenant(subject)
        expected = {"suspend": "suspended", "offboard": "offboarded", "purge": "offboarded"}
        assert tenant["status"] == expected.get(plan, "active"), tenant
        if plan == "purge":
            assert tenant["purge_after"] is None, tenant
        if plan == "update":
            assert tenant["quotas"] == UPDATED_QUOTAS, tenant
            self.check_quotas(subject)
        if plan in ("subscribe", "change_subscription", "unsubscribe"):
            path = f"/v1/tenants/{subject.id}/subscriptions/{subject.module}"
            response = self.api.get(path, headers=self.headers())
            if plan == "unsubscribe":
                assert response.status_code == 404, response.text
            else:
                want = "1.1.0" if plan == "change_subscription" else "1.0.0"
                assert (response.json()["status"], response.json()["version"]) == ("active", want)

    @staticmethod
    def check_quotas(subject: Subject) -> None:
        """The updated quotas reached the systems that enforce them."""
        kube = systems().kubernetes
        quotas = kube.client.resources.get(api_version="v1", kind="ResourceQuota")
        hard = quotas.get(name="tenant-quota", namespace=f"tenant-{subject.slug}").spec.hard
        assert (hard["limits.cpu"], hard["limits.memory"]) == ("3", "6Gi"), hard
        bucket = json.loads(systems().storage.admin.bucket_quota_get(f"tenant-{subject.slug}"))
        assert bucket.get("quota", bucket.get("size")) == 5 * GIB, bucket

    # ------------------------------------------------------------------ one case

    def run(self, case: Case) -> Outcome:
        self.restarts = 0
        self.supervise()
        subject = self.prepare(case.plan)
        if case.outage is None:
            faults.inject(subject.label, case.step, case.fault, seconds=0.02)
            operation_id = self.start(case.plan, subject)
            detail = self.crash(subject, operation_id, case)
        else:
            faults.inject(subject.label, case.step, "sleep", seconds=SLEEP_BEFORE_STEP_S)
            operation_id = self.start(case.plan, subject)
            detail = self.outage(subject, operation_id, case, self.proxies[case.outage])
        operation = self.wait(subject, operation_id)
        attempts = int(self.step(subject, operation_id, case.step)["attempts"])
        result = "succeeded"
        if operation["status"] == "failed":
            how, again = self.recover(case.plan, subject, operation_id)
            self.succeed(subject, again)
            result = f"failed cleanly; {how} succeeded"
        if self.restarts:
            detail += f"; the worker exited and was restarted ({self.restarts}x)"
        self.check(case.plan, subject)
        findings = [str(f) for f in scan(subject.slug)]
        assert findings == [], findings
        # what offboarding leaves (nothing) is checked by the run's final scan
        if not subject.version and self.tenant(subject)["status"] != "offboarded":
            self.succeed(subject, self.offboard(subject))
        return Outcome(case, result, attempts, detail, len(findings))

    def crash(self, subject: Subject, operation_id: str, case: Case) -> str:
        """Wait for the armed crash to strike: the pool process running the step is
        SIGKILLed; the worker starts a fresh one and the broker hands it the task again
        (acks late, rejected when its worker is lost)."""

        def struck() -> str | None:
            self.supervise()
            where = faults.fired(subject.label, case.step)
            if where is None:
                status = self.operation(subject, operation_id)["status"]
                assert status not in ("succeeded", "failed"), f"the crash never struck: {status}"
            return where

        where: str = wait_for(struck, timeout=OPERATION_TIMEOUT_S, what="the injected crash")
        faults.clear(subject.label, case.step)
        return f"killed {where}"

    def outage(self, subject: Subject, operation_id: str, case: Case, proxy: OutageProxy) -> str:
        """Take the system away while the step is about to run; bring it back once the
        step has met it (or after a bounded hold, when its progress cannot be seen)."""

        def running() -> bool:
            self.supervise()  # an outage of the case before may have stopped the worker
            return bool(self.step(subject, operation_id, case.step)["status"] == "running")

        wait_for(
            running,
            timeout=OPERATION_TIMEOUT_S,
            what=f"{case.step} to start",
        )
        cut_before = proxy.cut
        proxy.refuse()
        seen = self._hold(subject, operation_id, case.step)
        proxy.up()
        cut = proxy.cut - cut_before
        return f"{cut} connections cut; step saw: {seen}"

    def _hold(self, subject: Subject, operation_id: str, step: str) -> str:
        deadline = time.monotonic() + SLEEP_BEFORE_STEP_S + OUTAGE_HOLD_S
        while time.monotonic() < deadline:
            record = self.step(subject, operation_id, step)
            if record["status"] != "running" or record["attempts"] > 1:
                return _short(record.get("error") or record["status"])
            time.sleep(0.2)
        return "no change while it lasted"


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"
