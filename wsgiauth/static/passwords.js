// wsgiauth's one script, for pages with password fields: a "Show password" button beside
// each (ASVS 2.1.12) and a strength meter under a new password (ASVS 2.1.8).
//
// Progressive enhancement: the forms work the same without it. It only adds to the page,
// never blocks a submission (the server alone decides what password is acceptable) and
// sends nothing anywhere. Loaded with <script src defer> from templates/_forms.html: the
// Content-Security-Policy allows scripts from this site only, and no inline script.
"use strict";

const MIN_LENGTH = 8; // wsgiauth/forms.py: PASSWORD_MIN (ASVS 5.0 6.2.1)
const RECOMMENDED_LENGTH = 15; // ASVS 5.0 6.2.1: 15 or more recommended; only that long is "Strong"
const LABELS = ["", "Too short", "Weak", "Fair", "Strong"];
const ADVICE = " (" + RECOMMENDED_LENGTH + " characters or more make it strong)";

// Score a password from 0 (empty) to 4 (strong), by its length and variety only.
// A rough guide: the server also refuses common passwords and the user's own name or email.
function strength(password) {
  const characters = [...password]; // code points, as the server counts them
  if (characters.length === 0) return 0;
  if (characters.length < MIN_LENGTH) return 1;
  const kinds = [/\p{Ll}/u, /\p{Lu}/u, /\p{N}/u, /[^\p{L}\p{N}]/u].filter((kind) => kind.test(password)).length;
  // Length counts most; variety (e.g. letters, digits and symbols) helps a password
  // shorter than recommended a little, but never up to "Strong".
  let score = characters.length >= RECOMMENDED_LENGTH ? 4 : characters.length >= 12 || kinds >= 3 ? 3 : 2;
  if (new Set(characters).size <= characters.length / 2) score -= 1; // "aaaaaaaa", "abcdabcd"
  return Math.max(2, score);
}

// Add the id of a new description to the field's aria-describedby (after its hint and error).
function describe(input, id) {
  const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  input.setAttribute("aria-describedby", ids.concat(id).join(" "));
}

// Put a <meter> and its words ("Password strength: Fair") under the field, updated as the person types.
function addMeter(input) {
  const box = document.createElement("div");
  box.className = "strength";
  const meter = document.createElement("meter");
  Object.assign(meter, { min: 0, max: 4, low: 2.5, high: 3.5, optimum: 4, hidden: true });
  meter.setAttribute("aria-hidden", "true"); // the words below say the same to a screen reader
  const words = document.createElement("span");
  words.id = input.id + "-strength";
  words.setAttribute("aria-live", "polite"); // read out when the verdict changes, not per key
  box.append(meter, words);
  input.closest(".field").append(box);
  describe(input, words.id);
  input.addEventListener("input", () => {
    const score = strength(input.value);
    meter.value = score;
    meter.hidden = score === 0;
    box.dataset.score = score; // the colour of the words (style.css)
    words.textContent = score ? "Password strength: " + LABELS[score] + (score === 2 || score === 3 ? ADVICE : "") : "";
  });
}

// Show or hide the password of input; the button's label and aria-pressed follow.
function reveal(input, button, shown) {
  input.type = shown ? "text" : "password";
  // "Show password" / "Hide password"; at 375 px only the first word is seen (style.css).
  const wide = document.createElement("span");
  wide.className = "wide";
  wide.textContent = " password";
  button.replaceChildren(shown ? "Hide" : "Show", wide);
  button.setAttribute("aria-pressed", String(shown));
}

// Put a "Show password" toggle button right after the field.
function addToggle(input) {
  const button = document.createElement("button");
  button.type = "button"; // never submits the form
  button.className = "reveal";
  button.setAttribute("aria-controls", input.id);
  reveal(input, button, false); // "Show password", aria-pressed="false"
  button.addEventListener("click", () => reveal(input, button, input.type === "password"));
  input.after(button);
  // Shown as text, a password must not go to a spell-checking service (some send the
  // text to a server) or be "corrected" by the keyboard.
  Object.assign(input, { spellcheck: false, autocapitalize: "none" });
  input.setAttribute("autocorrect", "off");
  // Masked again before the form leaves, so the browser never files the password
  // among the text it remembers for ordinary fields; again if the page comes back
  // from the back/forward cache.
  input.form.addEventListener("submit", () => reveal(input, button, false));
  addEventListener("pageshow", () => reveal(input, button, false));
}

for (const input of document.querySelectorAll(".password-input > input[type=password]")) {
  addToggle(input);
  if (input.hasAttribute("data-strength-meter")) addMeter(input);
}
