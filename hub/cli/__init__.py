"""The ``hub`` command, one module per command group; :mod:`hub.cli.app` mounts them all."""
