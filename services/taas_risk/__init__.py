"""Credit risk module: scorecard, anti-fraud rules and loan decisions."""
