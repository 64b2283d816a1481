"""The risk module's HTTP API, one router per concern; ``taas_risk.app`` puts them together."""
