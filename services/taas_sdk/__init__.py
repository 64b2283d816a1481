"""The TaaS module SDK: what a plugin needs to run behind the TaaS gateway.

It never imports the control plane (``taas``): vendors install it on its own.
"""
