from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from taas.localstack.pki import LocalPki


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_certificates_are_signed_by_the_local_ca(tmp_path: Path) -> None:
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    ca = _load(pki.ca.cert)
    for name in ("kube-apiserver.crt", "client-admin.crt", "client-kube-scheduler.crt"):
        cert = _load(tmp_path / name)
        cert.verify_directly_issued_by(ca)
    public = ca.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)


def test_admin_client_is_in_system_masters(tmp_path: Path) -> None:
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    subject = _load(pki.client("admin").cert).subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"


def test_apiserver_certificate_names_loopback_and_the_service(tmp_path: Path) -> None:
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    sans = _load(
        pki.serving("kube-apiserver", "127.0.0.1").cert
    ).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    names = sans.value.get_values_for_type(x509.DNSName)
    assert "kubernetes.default.svc" in names
    assert next(str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)) == "127.0.0.1"


def test_ensure_is_idempotent_and_keeps_keys_private(tmp_path: Path) -> None:
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    first = pki.ca.cert.read_bytes()
    pki.ensure("127.0.0.1")
    assert pki.ca.cert.read_bytes() == first
    assert all(oct(key.stat().st_mode)[-3:] == "600" for key in tmp_path.glob("*.key"))


def test_kubeconfig_points_at_the_server_and_the_client_cert(tmp_path: Path) -> None:
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    config = json.loads(pki.kubeconfig("https://127.0.0.1:6443", "admin"))
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["users"][0]["user"]["client-certificate"].endswith("client-admin.crt")


def test_the_front_proxy_client_comes_from_its_own_ca(tmp_path: Path) -> None:
    """Aggregated API servers trust names in headers from the front proxy's CA only: no
    other client certificate of the stack may be signed by it."""
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    front_proxy = _load(pki.front_proxy_client().cert)
    front_proxy.verify_directly_issued_by(_load(pki.front_proxy_ca.cert))
    assert front_proxy.subject.rfc4514_string() == "CN=front-proxy-client"
    assert _load(pki.front_proxy_ca.cert).subject != _load(pki.ca.cert).subject
    admin = _load(pki.client("admin").cert)
    assert admin.issuer == _load(pki.ca.cert).subject


def test_a_serving_certificate_can_name_a_service(tmp_path: Path) -> None:
    pki = LocalPki(tmp_path)
    pki.ensure("127.0.0.1")
    cert = _load(
        pki.serving("metrics-server", "10.244.0.1", ["metrics-server.kube-system.svc"]).cert
    )
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "metrics-server.kube-system.svc" in sans.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.244.0.1"]
