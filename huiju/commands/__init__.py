"""One module per ``huiju`` command group; each exposes ``register(subparsers)``."""
