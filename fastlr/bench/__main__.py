"""``python -m fastlr.bench``: the same as ``fastlr bench``."""

import argparse

from fastlr.bench.command import configure_parser, main

parser = argparse.ArgumentParser(prog="python -m fastlr.bench", description="time every kernel and the fit on each backend")
configure_parser(parser)
raise SystemExit(main(parser.parse_args()))
