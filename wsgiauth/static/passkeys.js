// Passkeys (WebAuthn) on the sign-in, second-step, Confirm access and sign-in security pages.
//
// The server does the checking (wsgiauth/passkeys.py); this script only carries
// messages between it and the browser's WebAuthn API:
//   1. POST to the form's data-options URL (with the CSRF token) for the options,
//      which include a fresh challenge the server keeps for this browser;
//   2. hand them to navigator.credentials.create() (add) or .get() (sign in):
//      the browser asks the person for their fingerprint, face or PIN;
//   3. put the answer, as JSON, in the form's hidden "credential" field and send
//      the form like any other, so the server answers with a normal page.
// Without this script, or in a browser without passkeys, both forms stay hidden.
"use strict";

(function () {
  const PKC = window.PublicKeyCredential;
  // parse...FromJSON and toJSON turn the options and answers into JSON and back
  // (binary fields as base64url), so no encoding code is needed here.
  if (!PKC || !PKC.parseRequestOptionsFromJSON || !PKC.parseCreationOptionsFromJSON) return;

  // Step 1: the options, from the server.
  async function fetchOptions(form, url) {
    const body = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
    const response = await fetch(url || form.dataset.options, { method: "POST", body, credentials: "same-origin" });
    if (!response.ok) throw new Error("The server did not start the passkey request (" + response.status + ").");
    return (await response.json()).options;
  }

  // Say what went wrong in the form's alert box (never for a request the person cancelled).
  function showProblem(form, error) {
    if (error.name === "AbortError") return; // we cancelled it ourselves (see signIn)
    const alert = form.querySelector(".passkey-alert");
    alert.textContent = error.name === "NotAllowedError"
      ? "The passkey request was cancelled or timed out. Please try again."
      : error.message;
    alert.hidden = false;
  }

  // Step 3: send the answer in the form.
  function send(form, credential) {
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    form.submit(); // submit() fires no "submit" event, so this does not run again
  }

  // -- Sign in (signin.html) ---------------------------------------------
  const signinForm = document.getElementById("passkey-signin");
  let pending = null; // the AbortController of the request under way, if any

  async function signIn(mediation) {
    // Only one WebAuthn request at a time: the button cancels the autofill one.
    if (pending) pending.abort();
    const controller = (pending = new AbortController());
    try {
      const publicKey = PKC.parseRequestOptionsFromJSON(await fetchOptions(signinForm));
      const credential = await navigator.credentials.get({ publicKey, mediation, signal: controller.signal });
      const remember = document.getElementById("remember");
      signinForm.elements.remember.value = remember && remember.checked ? "1" : "";
      send(signinForm, credential);
    } catch (error) {
      // The autofill request runs in the background: only a request the
      // person started with the button has its problem shown.
      if (pending === controller && mediation !== "conditional") showProblem(signinForm, error);
    }
  }

  if (signinForm) {
    signinForm.hidden = false;
    signinForm.querySelector("button").addEventListener("click", () => signIn("optional"));
    // Autofill: with mediation "conditional" the browser waits, and lists the
    // passkeys for this site under the email field (autocomplete="username webauthn")
    // when the person focuses it. Choosing one resolves the request.
    if (PKC.isConditionalMediationAvailable) {
      PKC.isConditionalMediationAvailable().then((available) => { if (available) signIn("conditional"); });
    }
  }

  // -- A passkey in place of a code or a password (signin_code.html, confirm_access.html)
  // The options name only the account's own passkeys; the answer goes in the
  // form's "credential" field and the form is sent as if typed in.
  for (const form of document.querySelectorAll("form[data-passkey-options]")) {
    const button = form.querySelector(".passkey-use");
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        const publicKey = PKC.parseRequestOptionsFromJSON(await fetchOptions(form, form.dataset.passkeyOptions));
        send(form, await navigator.credentials.get({ publicKey }));
      } catch (error) {
        showProblem(form, error);
      }
    });
  }

  // -- Add a passkey (_passkeys.html) ------------------------------------
  const addForm = document.getElementById("passkey-add");
  if (addForm) {
    addForm.hidden = false;
    addForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const publicKey = PKC.parseCreationOptionsFromJSON(await fetchOptions(addForm));
        send(addForm, await navigator.credentials.create({ publicKey }));
      } catch (error) {
        showProblem(addForm, error);
      }
    });
  }
})();
