"""Probes observe the machine and never decide. Anything that can hang runs in a subprocess."""
