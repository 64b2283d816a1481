"""The marketing module's HTTP API, one router per concern; ``taas_marketing.app`` puts
them together."""
