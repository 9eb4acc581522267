"""The composition root: the `cqrs` console script, the demo, every benchmark and the chaos suite.

It wires the packages together; no package imports it.
"""
