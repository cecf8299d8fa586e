"""A real WordPress from Debian's package, run on 127.0.0.1 to check the simulated one against."""
