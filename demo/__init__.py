"""The `make demo` pipeline: a local Exact Online sandbox, Meltano, a DuckDB warehouse.

`python -m demo.run` starts the sandbox, runs the real plugins through `meltano run` and prints
what happened; the end-to-end tests in tests/e2e reuse its Meltano and sandbox helpers.
"""
