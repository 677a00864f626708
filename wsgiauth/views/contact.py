"""The Contact page: a message to the site's owner, stored and mailed through the outbox."""

import logging

from .. import limits
from ..forms import refilled, typed, validate_contact
from ..mailer import address

log = logging.getLogger("wsgiauth.contact")

# A field people never see; bots fill in every field they find.
HONEYPOT = "website"
FIELDS = ("name", "email", "subject", "message")


def contact(app, request):
    """Show the Contact form, or store and queue the message and redirect to the thank-you."""
    errors = {}
    if request.method == "POST":
        data, errors = validate_contact(request.form)
        trapped = bool(request.form.get(HONEYPOT))
        # A filled honeypot gets the same thank-you as a person, whatever
        # else it sent, so a bot learns nothing from the answer.
        if trapped or not errors:
            return send_message(app, request, data, trapped)
        form = typed(request, *FIELDS)
    else:
        user = request.session.user
        form = typed(request, *FIELDS)  # empty, or what an expired form held
        if user and not refilled(request):
            form.update(name=f"{user['firstname']} {user['lastname']}", email=user["email"])
    return app.render(request, "contact.html", form=form, errors=errors, sent=False, honeypot=HONEYPOT)


def contact_sent(app, request):
    """Show the thank-you after a message was sent (a GET, so reloading sends nothing)."""
    return app.render(request, "contact.html", sent=True)


def send_message(app, request, data, trapped):
    """Count the attempt; store and queue the message unless trapped; redirect (303)."""
    # 5 an hour per client IP (limits.CONTACT_PER_IP), counted in a
    # transaction of its own, so no later failure can undo the count.
    limits.check(app, request, limits.CONTACT_PER_IP)
    now = app.now()
    user = request.session.user
    if trapped:
        log.info("Contact message dropped: the honeypot field was filled in")
        return app.redirect_to(request, "contact_sent")
    uid = user["uid"] if user else None

    def store(tx):
        """Store the message and its email together (or neither); return the outbox id."""
        tx.insert("insert_contact_message", uid=uid, created_at=now, **data)
        return app.outbox.enqueue(tx, to=app.settings.CONTACT_TO, reply_to=address(data["name"], data["email"]),
                                  subject=f"[Contact] {data['subject']}", body=mail_body(data, uid))

    return app.outbox.deliver_after(app.redirect_to(request, "contact_sent"), app.db.transaction(store))


def mail_body(data, uid):
    """Return the text of the email that carries a contact message."""
    account = f" (signed in as user #{uid})" if uid else ""
    return (f"{data['name']} <{data['email']}>{account} wrote through the Contact page:\n\n"
            f"{data['message']}\n")
