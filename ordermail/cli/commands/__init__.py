"""One module per subcommand: each has `register(subparsers, parents)` and a `run(args) -> int`."""
