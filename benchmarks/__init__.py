"""Benchmarks of the Exact Online connector against the local sandbox (`make bench`).

Exact's API calls are the scarce resource, so every number here is a count or a ratio taken from
the sandbox's own statistics (`/_sandbox/stats`), never from the connector's claims. Timings are
measured here and written to RESULTS.md; the test suite only checks counts and ratios.
"""
