"""Platform operators and auditors: the people who run TaaS (users of the platform realm)."""
