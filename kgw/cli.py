"""kgw's command line."""

import sys

import click


@click.group()
def main():
    """kgw: a Kafka-wire-compatible broker."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9092, show_default=True)
@click.option("--data-dir", default="./data", show_default=True)
def serve(host, port, data_dir):
    """Run the broker (not built yet: see the open issues)."""
    click.echo("kgw serve is not built yet; protocol/ is the first layer to land.", err=True)
    sys.exit(1)
