"""Test harness: real services for the suite (see plugin.py)."""
