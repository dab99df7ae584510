"""``python -m regime`` runs the command-line interface."""

from regime.cli import run

run()
