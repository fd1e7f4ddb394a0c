"""Helpers shared by test packages: real servers on loopback for the components under test."""
