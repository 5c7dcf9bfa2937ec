"""Built-in readers, registered through the ``register_readers`` hook."""
