"""The HTTP side of the read API (FastAPI): routes, auth, problems, metrics."""
