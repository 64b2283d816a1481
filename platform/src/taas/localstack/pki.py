"""Certificates and keys for the local Kubernetes control plane.

One private CA signs the API server's serving certificate and one client certificate per
caller (admin, controller-manager, scheduler, kwok); a separate key pair signs service
account tokens. A second CA, the front proxy's, signs only the certificate kube-apiserver
presents when it forwards a request to an aggregated API server (metrics-server) with the
caller's name in headers: whoever holds a certificate of that CA can claim to be anyone
there, so no other client certificate may come from it. Files are created once and kept in
``<state>/pki``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=3650)
FRONT_PROXY_CLIENT = "front-proxy-client"  # the one name aggregated API servers trust


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


class LocalPki:
    """The certificate authority of the local cluster and everything it signs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = CertPair(folder / "ca.crt", folder / "ca.key")
        self.front_proxy_ca = CertPair(folder / "front-proxy-ca.crt", folder / "front-proxy-ca.key")
        self.service_account_key = folder / "sa.key"
        self.service_account_pub = folder / "sa.pub"

    def ensure(self, host: str) -> None:
        """Create the CA, service account keys and every certificate that is missing."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for ca, name in ((self.ca, "taas-local-ca"), (self.front_proxy_ca, "taas-front-proxy-ca")):
            if not ca.cert.exists():
                self._create_ca(ca, name)
        if not self.service_account_key.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            _write_key(self.service_account_key, key)
            self.service_account_pub.write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        for server in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            self.serving(server, host)
        self.client("admin", "taas-admin", "system:masters")
        self.client("kube-controller-manager", "system:kube-controller-manager")
        self.client("kube-scheduler", "system:kube-scheduler")
        self.client("kwok", "system:kwok-controller", "system:masters")
        self.front_proxy_client()

    def _create_ca(self, pair: CertPair, common_name: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = _name(common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        _write_key(pair.key, key)
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _sign(
        self,
        pair: CertPair,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName] | None = None,
        ca: CertPair | None = None,
    ) -> CertPair:
        if pair.cert.exists() and pair.key.exists():
            return pair
        ca = ca or self.ca
        ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{ca.key} is not an EC private key")
        ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write_key(pair.key, key)
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return pair

    def serving(self, server: str, host: str, names: Sequence[str] = ()) -> CertPair:
        """The HTTPS serving certificate of one server at ``host``, also valid for the DNS
        ``names`` (a Service's name, which is what kube-apiserver checks when it proxies
        to an aggregated API server)."""
        sans: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address(host)),
            *(x509.DNSName(name) for name in names),
        ]
        if server == "kube-apiserver":
            sans += [
                x509.DNSName("kubernetes"),
                x509.DNSName("kubernetes.default"),
                x509.DNSName("kubernetes.default.svc"),
                x509.DNSName("kubernetes.default.svc.cluster.local"),
                x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
            ]
        pair = CertPair(self.folder / f"{server}.crt", self.folder / f"{server}.key")
        return self._sign(pair, _name(server), ExtendedKeyUsageOID.SERVER_AUTH, sans)

    def client(self, name: str, user: str | None = None, group: str | None = None) -> CertPair:
        """A client certificate for ``user`` in ``group`` (created on first use)."""
        pair = CertPair(self.folder / f"client-{name}.crt", self.folder / f"client-{name}.key")
        return self._sign(pair, _name(user or name, group), ExtendedKeyUsageOID.CLIENT_AUTH)

    def front_proxy_client(self) -> CertPair:
        """What kube-apiserver presents to aggregated API servers (signed by the front
        proxy's CA, named ``FRONT_PROXY_CLIENT``)."""
        pair = CertPair(
            self.folder / "front-proxy-client.crt", self.folder / "front-proxy-client.key"
        )
        return self._sign(
            pair, _name(FRONT_PROXY_CLIENT), ExtendedKeyUsageOID.CLIENT_AUTH, ca=self.front_proxy_ca
        )

    def kubeconfig(self, server_url: str, client: str) -> str:
        """A kubeconfig (YAML is a superset of JSON) for ``client`` talking to ``server_url``."""
        pair = self.client(client)
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "taas-local",
                        "cluster": {
                            "server": server_url,
                            "certificate-authority": str(self.ca.cert),
                        },
                    }
                ],
                "users": [
                    {
                        "name": f"taas-{client}",
                        "user": {
                            "client-certificate": str(pair.cert),
                            "client-key": str(pair.key),
                        },
                    }
                ],
                "contexts": [
                    {
                        "name": "taas-local",
                        "context": {"cluster": "taas-local", "user": f"taas-{client}"},
                    }
                ],
                "current-context": "taas-local",
            },
            indent=2,
        )
