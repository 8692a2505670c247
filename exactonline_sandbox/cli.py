"""`exactonline-sandbox serve`: run the Exact Online emulator on a loopback port.

On start it prints exactly one line to stdout, `Exact Online sandbox listening on
http://HOST:PORT`, and flushes it (the harness waits for that line); everything else goes to
stderr. `--port 0` picks a free port. The duration flags compress time: a test can run with
`--minute-seconds 1 --token-lifetime 5` and see minute windows and token expiry accordingly.
SIGINT and SIGTERM stop the server cleanly (uvicorn's own signal handling).
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

from exactonline_sandbox import rowcache
from exactonline_sandbox.faults import FaultSpecError, parse_compact

LISTENING = "Exact Online sandbox listening on"


def _log_config(level: str, access_log: bool) -> dict[str, Any]:
    """uvicorn's loggers (and ours) to stderr only: stdout carries just the URL line."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {
                "handlers": ["stderr"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
            "exactonline_sandbox": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def build_parser() -> argparse.ArgumentParser:
    # here, not at the top: the harness imports this module and needs none of the store
    from exactonline_sandbox.oauth import EARLY_REFRESH_ANSWERS
    from exactonline_sandbox.put_delete import INVOICE_DELETE_LOGS, INVOICE_KEYED

    parser = argparse.ArgumentParser(
        prog="exactonline-sandbox", description="A local emulator of the Exact Online REST API."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="run the sandbox HTTP server",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # every flag shows its default
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument("--port", type=int, default=0, help="port; 0 = any free port")
    serve.add_argument("--seed", type=int, default=1, help="seed of the generated company")
    serve.add_argument("--scale", type=float, default=1.0, help="size factor of the company")
    serve.add_argument("--divisions", type=int, default=2, help="number of divisions")
    serve.add_argument(
        "--division-scales",
        default="",
        help="comma-separated size factors, one per division, applied on top of --scale "
        "(e.g. 1,0.5,0.25: the second division half the first); default every division 1",
    )
    serve.add_argument("--token-lifetime", type=float, default=600, help="access token seconds")
    serve.add_argument(
        "--refresh-window",
        type=float,
        default=30,
        help="a refresh is allowed only in the last N seconds of the access token's life",
    )
    serve.add_argument("--minute-seconds", type=float, default=60, help="length of a 'minute'")
    serve.add_argument("--day-seconds", type=float, default=86400, help="length of a 'day'")
    serve.add_argument(
        "--minutely-limit", type=int, default=60, help="calls per app, division, minute"
    )
    serve.add_argument("--daily-limit", type=int, default=5000, help="calls per app, division, day")
    serve.add_argument(
        "--error-limit",
        type=int,
        default=10,
        help="error answers per app, division, endpoint, hour",
    )
    serve.add_argument(
        "--token-daily-limit",
        type=int,
        default=200,
        help="token calls per app per day; 0 = no limit",
    )
    serve.add_argument(
        "--code-lifetime", type=float, default=300, help="authorization code lifetime, seconds"
    )
    serve.add_argument(
        "--faults",
        default=None,
        help="fault plan, e.g. 500:0.05,503:0.02,drop:0.02,latency:0.1@300ms,seed:7 "
        "(grammar: exactonline_sandbox.faults)",
    )
    serve.add_argument(
        "--always-json",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="answer JSON whatever the Accept header says (Exact answers Atom XML to a request "
        "whose Accept does not ask for JSON; so does the sandbox without this flag)",
    )
    serve.add_argument(
        "--early-refresh-answer",
        choices=tuple(EARLY_REFRESH_ANSWERS),
        default="401",
        help="how a refresh before the access token's last --refresh-window seconds is refused: "
        "401 'Access Token not expired' (the facts file) or 400 'Rate limit exceeded: "
        "access_token not expired' (what several public clients expect)",
    )
    serve.add_argument(
        "--invoice-deletes",
        choices=INVOICE_DELETE_LOGS,
        default=INVOICE_KEYED,
        help="what sync/Deleted logs (EntityType 13) when a sales invoice is deleted: one row "
        "keyed by the InvoiceID (default) or one row per line keyed by the line's ID (Exact "
        "does not document which)",
    )
    serve.add_argument(
        "--missing-modules",
        default="",
        help="divisions that lack modules, answering 403 on every endpoint of them: "
        "DIVISION=MODULE[,MODULE...] items separated by ';', DIVISION a division code or #N "
        "(the N-th division), e.g. '#2=payroll,manufacturing' (exactonline_sandbox.modules)",
    )
    serve.add_argument(
        "--row-cache-mb",
        type=int,
        default=rowcache.DEFAULT_BUDGET // (1024 * 1024),
        help="MB of encoded rows each division keeps for repeated reads; 0 = none",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.add_argument(
        "--no-access-log", dest="access_log", action="store_false", help="do not log each request"
    )
    return parser


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket. Created with an explicit IPPROTO_TCP: asyncio turns Nagle off
    (TCP_NODELAY) only on connections whose socket says so, and without it a small answer
    sent as headers then body waits for the client's delayed ACK (about 40 ms per call on a
    keep-alive connection). Linux also hands TCP_NODELAY on to accepted connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from exactonline_sandbox.app import create_app
    from exactonline_sandbox.server import SandboxConfig

    logging.basicConfig(stream=sys.stderr, level=args.log_level)
    try:
        faults = parse_compact(args.faults) if args.faults else None
    except FaultSpecError as exc:
        print(f"exactonline-sandbox: --faults: {exc}", file=sys.stderr)
        return 2
    try:
        division_scales = tuple(float(x) for x in args.division_scales.split(",") if x.strip())
    except ValueError:
        print(
            "exactonline-sandbox: --division-scales: numbers separated by commas", file=sys.stderr
        )
        return 2
    if division_scales and len(division_scales) != args.divisions:
        print(
            f"exactonline-sandbox: --division-scales: {len(division_scales)} factors for "
            f"{args.divisions} divisions",
            file=sys.stderr,
        )
        return 2
    from exactonline_sandbox.data import division_codes
    from exactonline_sandbox.modules import MissingModules, ModuleSpecError

    try:
        MissingModules.parse(args.missing_modules, division_codes(args.seed, args.divisions))
    except ModuleSpecError as exc:
        print(f"exactonline-sandbox: --missing-modules: {exc}", file=sys.stderr)
        return 2
    config = SandboxConfig(
        seed=args.seed,
        scale=args.scale,
        divisions=args.divisions,
        division_scales=division_scales,
        token_lifetime=args.token_lifetime,
        refresh_window=args.refresh_window,
        minute_seconds=args.minute_seconds,
        day_seconds=args.day_seconds,
        minutely_limit=args.minutely_limit,
        daily_limit=args.daily_limit,
        error_limit=args.error_limit,
        token_daily_limit=args.token_daily_limit,
        code_lifetime=args.code_lifetime,
        always_json=args.always_json,
        early_refresh=args.early_refresh_answer,
        faults=faults,
        invoice_deletes=args.invoice_deletes,
        missing_modules=args.missing_modules,
    )
    rowcache.configure(args.row_cache_mb * 1024 * 1024)  # before the company's readers exist
    # A page allocates thousands of short-lived containers (row dicts, cache entries); at the
    # default threshold (700) the collector runs a few times per page, each time walking the
    # page's live rows. The server makes next to no reference cycles, so collect far less often.
    gc.set_threshold(50_000, 20, 10)
    app, _sandbox = create_app(config)  # builds the company before we announce the URL
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    uv_config = uvicorn.Config(
        app,
        http="h11",
        lifespan="off",
        log_config=_log_config(args.log_level, args.access_log),
        access_log=args.access_log,
        date_header=False,  # the app sets Date in sandbox time
        server_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,  # do not hang on calls held by injected latency
    )
    server = uvicorn.Server(uv_config)
    # uvicorn handles SIGINT/SIGTERM (graceful shutdown), then re-raises the signal to the
    # handler that was installed before it: make that a no-op so a clean stop exits 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignore_signal)
    sys.stdout.write(f"{LISTENING} http://{shown}:{port}\n")
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _ignore_signal(signum: int, frame: object) -> None:
    """Placeholder handler; uvicorn's own handlers are active while it runs."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
