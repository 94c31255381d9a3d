"""What the GitHub Action runs besides the CLI: the pull-request comment. Nothing in the
tool imports this package; it sits above every layer (see ``.importlinter``)."""
