"""docs/reliability.md from scenario results: the figures are exactly what the runs measured."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import UTC, datetime

from reliability.result import ScenarioResult
from reliability.size import Size

INTRO = """\
# Reliability and security

What users fear from a connector is silent loss: a sync that skips rows after a retry, a token
lost after a crash, duplicate invoices after a re-run, a secret in a log. Each scenario below is
an automated end-to-end run of the real commands (`tap-exactonline`, `target-exactonline`,
`exactonline-auth`) as subprocesses against the local sandbox (`exactonline-sandbox serve`),
checked against the sandbox's own data.

- Code: `reliability/` (one module per scenario), tests: `tests/reliability/` (the short form,
  part of `make test`), this page: `make reliability` (the long form,
  `python -m reliability.run --full`).
- **Lost** counts rows/records of the ground truth that are missing or differ in content;
  **duplicated** counts extra copies. The goal for both, and for secret hits, is zero.
- **Secret hits**: every stdout, stderr, reject file and summary of every command of the scenario
  is scanned for the app's client secret, its refresh tokens, every access and refresh token the
  token store ever held (the store file is polled while the commands run; each scenario checks
  that the poller saw as many tokens as the sandbox issued) and any code or mistyped secret the
  scenario sent.
"""

SCENARIO_NOTES = """\
## What each scenario checks

- **Extraction under faults**: a fault-free full sync is the reference; each seeded fault plan
  (500/503, dropped connections, 429s incl. a burst of three, latency spikes) must give the same
  records, row for row by key and field by field, and no row twice.
- **Crash and resume (tap)**: the tap is SIGKILLed after a random number of output lines (what
  Meltano had read), several times per seed, each rerun from the last STATE message it emitted
  before it died; the union of all runs must equal a clean sync (rows re-read after a resume
  replace their copy, as in an upserting target), and the last run must not start over.
- **Reverse ETL under faults and crashes**: customers, invoices with lines, and attachments piped
  into the target while the sandbox loses answers after the write landed (`drop_after`) and
  answers 500s; the target is SIGKILLed after a random number of API calls and rerun on the same
  input; the sandbox must then hold each customer, invoice, invoice line and file exactly once,
  and another rerun must create nothing.
- **Concurrency on one token store**: a tap and a target on one division and a tap on another, at
  once, one grant, one token store and throttle file, rounds repeated until the sandbox issued
  tokens for several lifetimes: zero `Old refresh token used`, zero `Access Token not expired`,
  zero 429, every run complete (the untouched division reads the same every round; every load
  lands exactly once).
- **Overlapping targets, line changes, incremental copies**: two target runs start at once on
  the same invoices (every invoice call slowed down, so they overlap), once with a load and once
  with the same invoices' lines changed, added and removed; the division must hold each invoice
  once with exactly the input's lines, and a rerun must write nothing (no PUT, POST or DELETE).
  Then a full division copy, new invoices in the source for customers copied before, and an
  incremental copy from the first copy's last state: each new invoice arrives once, with its
  lines, and nothing is rejected.
- **Expired credentials**: a revoked grant, and a refresh token past 30 sandbox days: tap and
  target stop at once with the `exactonline-auth login` message, exit non-zero, at most one token
  call and one API call, no records, the state the run started from unchanged, the token store
  kept, nothing written.
- **Hostile and bad input**: a canary first proves the sandbox evaluates an injected `or` (so an
  injection would show); then customer codes and names with quotes, `%`, `&`, unicode and OData
  syntax are created, re-run, renamed and matched by name: exactly the right row changes, never
  another; an invoice key with OData syntax is created once; oversized and wrongly typed fields
  are stored verbatim or rejected with the field in the reject file (never cut); a record before
  its schema and a broken JSON line stop the target with a clear error and write nothing.
  Attachment paths: with `attachment_dir` set, a symlink out of it (to the token store, to
  `/dev/zero`), `..`, an absolute path outside it (the target's own config),
  `/proc/self/environ`, `/etc/shadow`, `/dev/zero`, a FIFO (must not hang), a directory, a 1 GiB
  sparse file and a file one byte over `attachment_max_bytes` are each a reject naming `path`,
  base64 over the cap one naming `content_base64`, and no file but the two good ones reaches the
  sandbox; without `attachment_dir` a path is refused and base64 still accepted. A document at
  the cap is uploaded whole (its `FileSize` read back), and the target's peak memory for it,
  measured against a run uploading a small file, stays under its size (the file is streamed,
  never held whole).
- **Secrets in output and file modes**: DEBUG logging and 2-second tokens (many tokens issued),
  `exactonline-auth status`, tap runs, a target run with a reject, a mistyped client secret, an
  unreachable base URL: zero hits; the token store and throttle file are mode 0600.
- **OAuth callback**: the callback server of `exactonline-auth login` is bound to 127.0.0.1 (read
  from /proc/net/tcp) and unreachable through the machine's other address; callbacks with a wrong
  or missing `state` are answered 400, the forged code is never exchanged and never printed, and
  the login goes on waiting for the real answer.
"""


def render(results: Sequence[ScenarioResult], size: Size, seconds: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [INTRO]
    lines.append(
        f"## Results ({size.label} form, {when}, {seconds:.0f} s on {platform.machine()}, "
        f"sandbox scale {size.scale}, seeds {', '.join(map(str, size.seeds))})\n"
    )
    lines.append("| scenario | injected | runs | checked | lost | duplicated | secret hits | ok |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        lines.append(
            f"| {r.name} | {r.injected} | {r.runs} | {r.checked} | {r.lost} | {r.duplicated} "
            f"| {r.secret_hits} | {'yes' if r.ok else '**NO**'} |"
        )
    lines.append("\n### Figures\n")
    for r in results:
        if r.figures:
            shown = "; ".join(f"{k}: {v}" for k, v in r.figures.items())
            lines.append(f"- **{r.name}**: {shown}")
    failed = [r for r in results if r.problems]
    if failed:
        lines.append("\n### Problems found\n")
        for r in failed:
            for problem in r.problems[:10]:
                lines.append(f"- {r.name}: {problem}")
    lines.append("")
    lines.append(SCENARIO_NOTES)
    return "\n".join(lines)
