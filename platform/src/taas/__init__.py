"""TaaS: a multi-tenant financial-cloud backbone for small banks."""

__version__ = "0.1.0"
