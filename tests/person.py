"""What a person does in the browser (type, click, Tab, Enter) and what every page must give them."""

import time

from wsgiauth import totp

from chromium import DESKTOP, expect
from smtpserver import link_in

ADA = {"First name": "Ada", "Last name": "Lovelace", "Email": "ada@example.com", "Password": "correct horse"}
# Another browser of Ada's, as the profile's list of sessions names it ("Safari on iOS").
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) " \
         "Version/17.5 Mobile/15E148 Safari/604.1"

SIGNED_OUT_NAV = ["Home", "About", "Contact", "Sign Up", "Sign In"]
SIGNED_IN_NAV = ["Home", "About", "Contact", "Profile", "Sign Out"]

# How an element is named in these tests: "field:Email", "button:Sign Out",
# "link:Home". Fields go by their label, as a person (or screen reader) knows them.
DESCRIBE_JS = """el => {
  const label = el.labels && el.labels.length ? el.labels[0].innerText : el.innerText;
  const kind = {A: 'link', BUTTON: 'button', INPUT: 'field', TEXTAREA: 'field', SELECT: 'field'}[el.tagName];
  if (!kind) return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
  return kind + ':' + (label || '').trim().replace(/\\s+/g, ' ');
}"""

FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {
    name: (%s)(el),
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && s.outlineColor !== 'rgba(0, 0, 0, 0)',
    inViewport: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth,  // on screen, at least partly
    top: r.top + scrollY, left: r.left + scrollX, height: r.height,
  };
}""" % DESCRIBE_JS

FOCUSABLE_JS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), textarea, select, [tabindex]:not([tabindex="-1"])')]
  .filter(el => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length
    && getComputedStyle(el).visibility !== 'hidden')
  .map(%s)""" % DESCRIBE_JS

# Structural checks every page must pass; returns what is wrong, in words.
PAGE_PROBLEMS_JS = """() => {
  const problems = [];
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const name = el => el.id || el.name || el.outerHTML.slice(0, 60);
  const describedBy = el => (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
  if (!document.documentElement.lang) problems.push('<html> has no lang');
  if (!/\\S · wsgiauth$/.test(document.title)) problems.push(`title "${document.title}" is not "<page> · wsgiauth"`);
  if (document.querySelectorAll('main h1').length !== 1) problems.push('the main content has no single <h1>');
  const fields = [...document.querySelectorAll('input:not([type=hidden]), textarea, select')];
  for (const f of fields) {
    // A field nobody sees (the account page's username for password managers) needs no label.
    if (shown(f) && ![...f.labels].some(l => shown(l) && l.innerText.trim()))
      problems.push(`${name(f)} has no visible label`);
    const auto = f.getAttribute('autocomplete');
    if (!['checkbox', 'radio'].includes(f.type) && !auto) problems.push(`${name(f)} has no autocomplete`);
    if (f.type === 'password' && !['current-password', 'new-password'].includes(auto))
      problems.push(`password ${name(f)} has autocomplete="${auto}"`);
  }
  const invalid = fields.filter(f => f.getAttribute('aria-invalid') === 'true');
  for (const f of invalid) {
    const messages = describedBy(f).map(id => document.getElementById(id))
      .filter(m => m && m.classList.contains('error') && shown(m) && m.innerText.trim());
    if (!messages.length) problems.push(`${name(f)} is aria-invalid but describedby no error message`);
    for (const m of messages) {  // "next to its field": just below it
      const gap = m.getBoundingClientRect().top - f.getBoundingClientRect().bottom;
      if (gap < 0 || gap > 16) problems.push(`the error of ${name(f)} is ${gap}px away from it`);
    }
  }
  for (const m of document.querySelectorAll('.error')) {
    if (!invalid.some(f => describedBy(f).includes(m.id))) problems.push(`"${m.innerText}" is tied to no invalid field`);
  }
  if (invalid.length && document.activeElement !== invalid[0])
    problems.push(`focus is on ${name(document.activeElement)}, not the first invalid field ${name(invalid[0])}`);
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) problems.push(`scrolls sideways: ${root.scrollWidth}px > ${root.clientWidth}px`);
  for (const el of document.querySelectorAll('main *')) {  // a part of the page that scrolls or cuts sideways
    // Fields scroll their own text; 1px boxes are hidden on purpose (screen-reader-only text, the honeypot).
    if (['INPUT', 'TEXTAREA'].includes(el.tagName) || el.clientWidth <= 1) continue;
    if (getComputedStyle(el).overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1)
      problems.push(`${name(el)} hides content sideways: ${el.scrollWidth}px in ${el.clientWidth}px`);
  }
  if (innerWidth >= %d) {
    for (const selector of ['.site-header .bar', 'main']) {
      const r = document.querySelector(selector).getBoundingClientRect();
      if (Math.abs(r.left - (root.clientWidth - r.right)) > 1) problems.push(`${selector} is not centred`);
    }
  }
  return problems;
}""" % DESKTOP


FIELD_ERRORS_JS = """() => Object.fromEntries([...document.querySelectorAll('[aria-invalid=true]')].map(f => [
  f.labels[0].innerText.trim(),
  (f.getAttribute('aria-describedby') || '').split(/\\s+/).map(id => document.getElementById(id))
    .filter(el => el && el.classList.contains('error')).map(el => el.innerText.trim()).join(' '),
]))"""


def page_problems(page):
    """Return what is wrong with the page shown now (labels, errors, focus, width), in words."""
    return page.evaluate(PAGE_PROBLEMS_JS)


def field_errors(page):
    """Return {field label: its error message} as a screen reader would tie them (aria-describedby)."""
    return page.evaluate(FIELD_ERRORS_JS)


def check_errors(page, expected):
    """Check the form shows exactly the expected {label: message}, each under its field, focus on the first."""
    assert field_errors(page) == expected
    assert page_problems(page) == []
    assert focused(page)["name"] == f"field:{next(iter(expected))}"


def typed_values(page, *labels):
    """Return {label: what the field now holds}."""
    return {label: page.get_by_label(label, exact=True).input_value() for label in labels}


def fill(page, values, within=None):
    """Click into each labelled field (of the form within, if given), clear it and type the value like a person."""
    for label, value in values.items():
        field = (within or page).get_by_label(label, exact=True)
        field.click()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.press("Delete")
        page.keyboard.type(value)


# Chromium moves focus to an [autofocus] field at its next rendering step,
# a moment after the page has loaded: wait for that before looking at focus.
AUTOFOCUS_DONE_JS = """() => {
  const field = document.querySelector('[autofocus]');
  return !field || document.activeElement === field;
}"""


def submit(page, key_or_button):
    """Press Enter (in the focused field) or click the named button; wait for the next page and its focus."""
    with page.expect_navigation():
        if key_or_button == "Enter":
            page.keyboard.press("Enter")
        else:
            page.get_by_role("button", name=key_or_button, exact=True).click()
    page.wait_for_function(AUTOFOCUS_DONE_JS)


def nav(page):
    """Return the main navigation."""
    return page.get_by_role("navigation", name="Main")


def nav_names(page):
    """Return the names of the links and buttons in the main navigation, in order."""
    return nav(page).locator("a, button").all_inner_texts()


def sign_up(page, **fields):
    """Sign up through the form (ADA unless fields replace some) and land on the profile."""
    page.goto("/signup")
    fill(page, {**ADA, **fields})
    submit(page, "Create account")
    expect(page).to_have_url("/profile")


def sign_in(page, email=ADA["Email"], password=ADA["Password"], remember=False):
    """Sign in through the form, ticking "Keep me signed in" if asked, and land on the profile."""
    page.goto("/signin")
    fill(page, {"Email": email, "Password": password})
    if remember:
        page.get_by_label("Keep me signed in").check()
    submit(page, "Sign In")
    expect(page).to_have_url("/profile")


def sign_out(page):
    """Press Sign Out in the navigation and wait for the home page."""
    with page.expect_navigation():
        nav(page).get_by_role("button", name="Sign Out").click()
    expect(page).to_have_url("/")


def focused(page):
    """Describe the focused element: name, visible outline, in the viewport, position."""
    return page.evaluate(FOCUSED_JS)


def tab_through(page):
    """Press Tab from the top of a freshly loaded page until focus leaves it; return each focused element."""
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is None or (seen and now["name"] == seen[0]["name"]):
            return seen
        seen.append(now)
    raise AssertionError(f"Tab never left the page: {[element['name'] for element in seen]}")


def tab_to(page, name):
    """Press Tab until the element called name (e.g. "button:Sign Out") has focus."""
    for _ in range(60):
        page.keyboard.press("Tab")
        now = focused(page)
        if now and now["name"] == name:
            return now
    raise AssertionError(f"Tab never reached {name}")


def activate(page, name):
    """Tab to a link or button and press Enter on it; wait for the page it leads to."""
    tab_to(page, name)
    submit(page, "Enter")


def reading_order_problems(elements):
    """Return where focus jumps against reading order (up the page, or leftwards on a line)."""
    problems = []
    for before, after in zip(elements, elements[1:]):
        same_line = abs((before["top"] + before["height"] / 2) - (after["top"] + after["height"] / 2)) < \
            min(before["height"], after["height"]) / 2
        forward = after["left"] > before["left"] if same_line else after["top"] > before["top"]
        if not forward:
            problems.append(f"{before['name']} -> {after['name']}")
    return problems


def check_keyboard_page(page):
    """Tab through the page: every control reached in reading order, each with a visible focus ring."""
    walk = tab_through(page)
    names = [element["name"] for element in walk]
    assert names == page.evaluate(FOCUSABLE_JS), "Tab skips or adds controls"
    jumps = reading_order_problems(walk)
    assert not jumps, f"Tab order jumps against reading order: {jumps}"
    unseen = [element for element in walk if not (element["outline"] and element["inViewport"])]
    assert not unseen, f"focus not visible on: {unseen}"
    return names


def form(page, heading):
    """Return the form labelled by heading, on a page with several (e.g. the account settings)."""
    return page.get_by_role("form", name=heading, exact=True)


def try_sign_in(page, email, password):
    """Type email and password into the sign-in page and press Enter; wait for whatever page comes next."""
    page.goto("/signin")
    fill(page, {"Email": email, "Password": password})
    submit(page, "Enter")


def mailed_url(base_url, message, prefix):
    """Return the address of the link in message at base_url + prefix (e.g. "/reset/")."""
    return base_url + link_in(message, prefix, base_url)


def open_link(page, base_url, message, prefix):
    """Open the link in message at base_url + prefix, as a click in a mail program does; return the response."""
    url = mailed_url(base_url, message, prefix)
    response = page.goto(url)
    # ASVS 5.0 14.2.1: the browser followed the redirect that moved the token
    # into a cookie; the address it shows (and keeps in its history) has none.
    moved = response.request.redirected_from.response()
    assert moved.status == 303 and moved.headers["referrer-policy"] == "no-referrer"
    assert url.rsplit("/", 1)[1] not in page.url, page.url
    return response


def current_code(key, used):
    """Return the code the app shows now, waiting for the next one if this step's was used (as a person does)."""
    # Codes work once, and only in their own 30 s (ASVS 5.0 6.5.5: no drift
    # by default), so a second code may mean waiting for the app's next one.
    while totp.step_at(time.time()) in used:
        time.sleep(totp.STEP - time.time() % totp.STEP + 0.2)
    # Typed with at least 5 s of its step left, so it is not stale when it arrives.
    if totp.STEP - time.time() % totp.STEP < 5:
        time.sleep(totp.STEP - time.time() % totp.STEP + 0.2)
    step = totp.step_at(time.time())
    used.add(step)
    return totp.hotp(key, step)
