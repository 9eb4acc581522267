"""The service kit both APIs stand on: tokens and principals, the errors they share and their RFC 9457 problem
responses, the OpenAPI documentation of those problems, JSON logging, ASGI middleware, `/metrics`, serving and the
bearer dependency.

It knows neither API: each one passes its own errors, descriptions and settings in.
"""
