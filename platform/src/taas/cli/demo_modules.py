"""The reference modules in ``taas demo``: registered like any vendor's, then used by the bank.

The vendor ``taas-labs`` ships the risk, marketing and OCR modules (services/) as images
built from the checkout, submits each through the vendor API, an operator approves them,
the demo bank subscribes (the platform runs them as pods on the real node), and its
systems score a loan application, segment a customer file and read an ID card through the
gateway; each answer names the pod that gave it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from rich.console import Console

from taas.cli.demo_platform import (
    client_token,
    ensure_subscribed,
    printed_manifest,
    publish,
    pushed_images,
    vendor_credentials,
)
from taas.cli.session import ApiClient
from taas.kit.errors import TaasError
from taas.kit.settings import StackSettings

console = Console(highlight=False)
VENDOR = "taas-labs"


MODULES = {"taas_risk": "risk", "taas_marketing": "marketing", "taas_ocr": "ocr"}  # -> image


def reference_modules(operator: ApiClient, tenant: dict[str, Any], bank_token: Any) -> None:
    """Register, approve and subscribe the three modules, then call each as the bank."""
    console.rule("9. the reference modules, registered like any vendor's")
    credentials = vendor_credentials(operator, VENDOR, "TaaS Labs")
    vendor = ApiClient(
        token=client_token(
            credentials["token_url"], credentials["client_id"], credentials["client_secret"]
        )
    )
    manifests = {}
    images = pushed_images(list(MODULES.values()))
    for package, image in MODULES.items():
        manifests[package] = manifest = printed_manifest(["-m", f"{package}.app"], images[image])
        version = publish(operator, vendor, VENDOR, manifest, "a first-party module")
        ensure_subscribed(operator, tenant, manifest["name"], version)
        console.print(
            f"[green]✓[/] {manifest['name']} {manifest['version']} published and subscribed"
        )
    console.rule("10. the bank uses them through the gateway")
    gateway = f"http://127.0.0.1:{StackSettings().gateway_port}/t/{tenant['slug']}"
    scopes = " ".join(s for m in manifests.values() for s in m["scopes"])
    headers = {"Authorization": f"Bearer {bank_token(scopes)}"}
    with httpx.Client(timeout=60, headers=headers) as http:
        _score(http, gateway, manifests["taas_risk"])
        _segment(http, gateway, manifests["taas_marketing"])
        _read_id_card(http, gateway, manifests["taas_ocr"])


def _first_example(manifest: dict[str, Any], path: str) -> Any:
    content = manifest["openapi"]["paths"][path]["post"]["requestBody"]["content"]
    examples = content["application/json"]["examples"]
    return next(iter(examples.values()))["value"]


def _score(http: httpx.Client, gateway: str, manifest: dict[str, Any]) -> None:
    application = _first_example(manifest, "/decisions")
    answer = http.post(f"{gateway}/{manifest['name']}/decisions", json=application)
    if answer.status_code != 200:
        raise TaasError(f"risk answered {answer.status_code}: {answer.text[:300]}")
    decision = answer.json()
    console.print(
        f"[green]✓[/] loan application scored by pod {_pod(answer)}: "
        f"{json.dumps(decision, ensure_ascii=False)[:400]}"
    )


def _pod(answer: httpx.Response) -> str:
    """The pod that answered (the SDK names it in ``X-Served-By``)."""
    return str(answer.headers.get("x-served-by", "?"))


def _segment(http: httpx.Client, gateway: str, manifest: dict[str, Any]) -> None:
    from taas_marketing.generator import generate  # noqa: PLC0415 - the demo's test data

    base = f"{gateway}/{manifest['name']}"
    upload = http.post(f"{base}/uploads", json={})
    if upload.status_code != 201:
        raise TaasError(f"marketing answered {upload.status_code}: {upload.text[:300]}")
    ticket = upload.json()
    data = generate(5000, seed=11).to_csv()
    put = httpx.put(ticket["url"], content=data, timeout=60)
    if put.status_code >= 300:
        raise TaasError(f"upload to the bank's bucket failed: {put.status_code} {put.text[:200]}")
    job = http.post(f"{base}/jobs", json={"upload_key": ticket["key"], "segments": 6})
    if job.status_code != 202:
        raise TaasError(f"marketing answered {job.status_code}: {job.text[:300]}")
    job_id = job.json()["id"]
    console.print(f"· segmentation job {job_id} accepted by pod {_pod(job)}")
    deadline = time.monotonic() + 120
    while True:
        state = http.get(f"{base}/jobs/{job_id}").json()
        if state["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if state["state"] != "succeeded":
        raise TaasError(f"segmentation job {job_id} is {state['state']}: {state.get('error')}")
    result = state["result"]
    sizes = ", ".join(f"{s['name']} {s['customers']}" for s in result["segments"])
    console.print(f"[green]✓[/] 5,000 customers segmented: {sizes}")


def _read_id_card(http: httpx.Client, gateway: str, manifest: dict[str, Any]) -> None:
    from taas_ocr.generator import id_card  # noqa: PLC0415 - the demo's test data

    card = id_card(seed=3)
    answer = http.post(
        f"{gateway}/{manifest['name']}/id-cards",
        content=card.encoded("PNG"),
        headers={"Content-Type": "image/png"},
    )
    if answer.status_code != 200:
        raise TaasError(f"ocr answered {answer.status_code}: {answer.text[:300]}")
    read = json.dumps(answer.json(), ensure_ascii=False)
    console.print(f"[green]✓[/] synthetic ID card read by pod {_pod(answer)}: {read[:400]}")
    console.print(f"  printed on the card: {card.truth.name}, {card.truth.id_number}")
