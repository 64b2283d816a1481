"""The image recipes: names, what belongs to the app layer, and what the images run as."""

from __future__ import annotations

import pytest

from taas.kit.errors import ConfigurationError
from taas.localstack.app_images import NOBODY, PORT, RECIPES, _is_own, recipe


def test_every_image_the_issue_names_has_a_recipe() -> None:
    names = {one.name for one in RECIPES}
    assert names == {"api", "worker", "gateway", "risk", "marketing", "ocr", "example-plugin"}
    assert recipe("ocr").apt == ("tesseract-ocr", "tesseract-ocr-chi-sim", "tesseract-ocr-eng")
    assert all(one.repository.startswith("taas/") for one in RECIPES)


def test_an_unknown_image_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="no image is named 'nope'") as raised:
        recipe("nope")
    assert "example-plugin" in str(raised.value.hint)


def test_the_checkouts_own_packages_go_in_the_app_layer() -> None:
    own = ("taas", "taas_sdk")
    assert _is_own("taas", own)
    assert _is_own("taas-0.1.0.dist-info", own)
    assert _is_own("taas_sdk-0.1.0.dist-info", own)
    assert not _is_own("taas_risk", own)
    assert not _is_own("fastapi", own)
    assert not _is_own("fastapi-0.115.0.dist-info", own)


def test_servers_listen_on_the_image_port_inside_their_pod() -> None:
    for one in RECIPES:
        if one.port is not None:
            assert str(PORT) in one.command, one.name
            assert "0.0.0.0" in one.command, one.name  # noqa: S104 - in the pod's own netns
    assert NOBODY == 65534
