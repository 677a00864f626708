"""View functions: view(app, request, **url_values) -> Response, one module per area."""
