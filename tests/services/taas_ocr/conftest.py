"""Fixtures of the OCR module's tests: the app behind the SDK test kit.

Tesseract and the CJK fonts must be installed (`taas stack up` installs them): tests
that need them fail with the install hint, never skip.
"""

from __future__ import annotations

import pytest
from taas_ocr.app import create_ocr_app
from taas_sdk.testing import ModuleClient


@pytest.fixture
def client() -> ModuleClient:
    """The module app for tenant bank-a, with empty in-memory storage."""
    return ModuleClient(create_ocr_app(), tenant="bank-a")
