"""The sign-in security page: where the account is signed in, its recent sign-ins, "Sign out everywhere else"."""

from .. import audit


def security(app, request):
    """Show the signed-in user's live sessions and recent sign-ins."""
    # Here, not on the profile: the profile is the page every sign-in lands
    # on and stays light; this one makes the sessions query.
    sessions, signins = app.sessions.activity(app.db, request.session)
    # None when passkeys are not offered: templates/_passkeys.html then shows nothing.
    passkeys = None
    if app.passkeys:
        passkeys = [dict(row, remove_url=app.url_for(request, "passkey_remove", passkey_id=row["id"]))
                    for row in app.db.all("passkeys_of_user", uid=request.session.user["uid"])]
    return app.render(request, "security.html", sessions=sessions, signins=signins, passkeys=passkeys)


def signout_others(app, request):
    """End every other session of the signed-in user ("Sign out everywhere else")."""
    def sign_out_others(tx):
        """End the other sessions and record how many."""
        ended = app.sessions.end_others(tx, request.session)
        audit.record(app, tx, request, "signout_others", uid=request.session.user["uid"], detail=ended)

    app.db.transaction(sign_out_others)
    return app.redirect_to(request, "security")
