"""The tap with singer-sdk's default message writer instead of the msgspec one it ships with.

Only for the writer comparison in the tap-speed benchmark: same streams, same client, same
records; the one difference is how each Singer message is serialised to stdout.

    python -m benchmarks.tap_default_writer --config CONFIG
"""

from __future__ import annotations

from singer_sdk.io_base import SingerWriter

from tap_exactonline.tap import TapExactOnline


class TapExactOnlineDefaultWriter(TapExactOnline):
    """tap-exactonline writing messages with singer-sdk's default (stdlib json) writer."""

    message_writer_class = SingerWriter


if __name__ == "__main__":
    TapExactOnlineDefaultWriter.cli()
