"""The Kubernetes wrapper module points each staging module at its published twin."""

from __future__ import annotations

from pathlib import Path

from taas.localstack import versions
from taas.localstack.install import _kubernetes_wrapper


def test_staging_replacements_become_published_versions(tmp_path: Path) -> None:
    upstream = tmp_path / "go.mod"
    upstream.write_text(
        "module k8s.io/kubernetes\n\nreplace (\n"
        "\tk8s.io/api => ./staging/src/k8s.io/api\n"
        "\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n"
        "\tgithub.com/other/mod => github.com/other/mod v1.0.0\n)\n"
    )
    wrapper = _kubernetes_wrapper("kubernetes", {"GoMod": str(upstream)})
    assert wrapper.startswith("module taas.local/build/kubernetes\n\ngo 1.26.0\n")
    assert f"\tk8s.io/api => k8s.io/api {versions.KUBERNETES_STAGING}\n" in wrapper
    assert f"\tk8s.io/client-go => k8s.io/client-go {versions.KUBERNETES_STAGING}\n" in wrapper
    assert "github.com/other" not in wrapper
