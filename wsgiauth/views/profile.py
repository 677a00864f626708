"""The profile: who is signed in, their live sessions and recent sign-ins, and "Sign out everywhere else"."""

from .. import audit


def profile(app, request):
    """Show the signed-in user's profile, sessions and recent sign-ins."""
    sessions, signins = app.sessions.activity(app.db, request.session)
    return app.render(request, "profile.html", sessions=sessions, signins=signins)


def signout_others(app, request):
    """End every other session of the signed-in user ("Sign out everywhere else")."""
    def sign_out_others(tx):
        """End the other sessions and record how many."""
        ended = app.sessions.end_others(tx, request.session)
        audit.record(app, tx, request, "signout_others", uid=request.session.user["uid"], detail=ended)

    app.db.transaction(sign_out_others)
    return app.redirect_to(request, "profile")
