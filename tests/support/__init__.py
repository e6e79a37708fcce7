"""Test support shared across the suites: real components the tests run against."""
