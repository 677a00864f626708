"""The Jinja templates of wsgiauth, shipped in the package as wsgiauth.templates.

This folder stays at the top of the repository, where a reader looks for it; setup.cfg maps it
into the package, so the same code (importlib.resources) reads it from a checkout, an editable
install and a wheel.
"""
