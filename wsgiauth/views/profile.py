"""The profile: the page every sign-in lands on; who is signed in."""


def profile(app, request):
    """Show the signed-in user's profile."""
    return app.render(request, "profile.html")
