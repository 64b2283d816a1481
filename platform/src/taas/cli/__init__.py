"""The ``taas`` command line."""
