"""Avro schemas of the Order events, their catalog, codec and compatibility checks.

Import from the submodules (`schemas.events`, `schemas.envelope`, `schemas.envelope_codec`, …). This module
stays empty on purpose: the domain imports `schemas.events` and must not pull in fastavro or schema files.
"""
