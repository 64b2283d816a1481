"""The control-plane API application: routers, error handling, request ids, tracing."""
