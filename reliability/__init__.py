"""Reliability and security scenarios: end-to-end runs of tap, target and auth against the sandbox.

Each scenario module holds one scenario as a function `run(size) -> ScenarioResult`; the tests in
tests/reliability run them in a short size, `python -m reliability.run --full` runs them in the
long size and writes docs/reliability.md. Every command output of every scenario is scanned for
secrets (see `reliability.secrets`).
"""
