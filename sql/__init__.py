"""The SQL of wsgiauth: named queries and numbered migrations, shipped in the package as wsgiauth.sql.

This folder stays at the top of the repository, where a reader looks for it; setup.cfg maps it
into the package, so the same code (importlib.resources) reads it from a checkout, an editable
install and a wheel.
"""
