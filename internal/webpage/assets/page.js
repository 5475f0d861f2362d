// Gatehouse's sign-in page, in cookie mode: the server keeps the tokens in
// HttpOnly cookies, so this script never sees one. It only asks:
//   POST /auth/login      with the header "Gatehouse-Cookie: 1" to sign in,
//   POST /auth/login/mfa  the same, with the second factor when the login
//                         answers 401 mfa_required,
//   GET  /me              to learn who is signed in,
//   POST /auth/refresh    (no body) to renew the session from its cookie,
//   POST /auth/logout     to sign out,
//   GET/POST /me/mfa…     to turn two-factor authentication on and off,
//   GET /auth/providers   and a top-level navigation to
//                         /auth/oauth/<id>/start?mode=cookie to sign in
//                         with an identity provider,
//   GET/POST/DELETE /me/identities… to list, link and unlink providers.
// Every call is same-origin, so the browser sends the cookies by itself and
// Gatehouse's cross-origin check sees Sec-Fetch-Site: same-origin.
//
// The one secret the script holds is the short-lived mfa_token between the
// password and the code, in a variable. The TOTP key and the recovery codes
// are put on the screen once and removed from it when the user moves on;
// none of them is ever stored, put in a cookie or in the address.
"use strict";

const $ = (id) => document.getElementById(id);
let renewTimer = 0;
let who = null; // the signed-in user, from GET /me

// The pending sign-in: the mfa_token of a login that asked for a second
// factor, and the timer that ends it when the token expires.
let attempt = "";
let attemptTimer = 0;

// A provider sign-in that asked for a second factor left its attempt in an
// HttpOnly cookie: the code is then sent without an mfa_token.
let attemptInCookie = false;

// providers are the identity providers one can sign in with; issuer is
// Gatehouse's, whose page "/" is where a provider sign-in comes back.
let providers = [];
let issuer = "";

// codesURL is the Blob URL of the recovery codes' text file while they
// are shown.
let codesURL = "";

const unreachable = "Gatehouse cannot be reached. Check your connection and try again.";

function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (path === "/auth/login" || path === "/auth/login/mfa") init.headers["Gatehouse-Cookie"] = "1";
  return fetch(path, init);
}

// problem reads an error answer: text for people (with the wait of a 429),
// the machine-readable code, and the whole body.
async function problem(res) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // Not JSON: the status says enough.
  }
  let text = typeof body.detail === "string" ? body.detail : "Request failed (" + res.status + ")";
  const wait = res.headers.get("Retry-After");
  if (res.status === 429 && wait) text += " (wait " + wait + " s)";
  return { text, code: typeof body.code === "string" ? body.code : "", body };
}

async function detail(res) {
  return (await problem(res)).text;
}

function say(text) {
  $("status").textContent = text;
}

// fail shows text in an error line and puts the focus where to fix it.
function fail(errorId, inputId, text) {
  $(errorId).textContent = text;
  $(inputId).focus();
}

function showCookies() {
  $("document-cookie").textContent = JSON.stringify(document.cookie);
}

// Renew a little before the access cookie runs out.
function scheduleRenewal(expiresIn) {
  clearTimeout(renewTimer);
  const lead = Math.min(60, expiresIn / 5);
  renewTimer = setTimeout(renew, Math.max(1, expiresIn - lead) * 1000);
}

// renew asks for new cookies with the refresh cookie; false when the
// session is over.
async function renew() {
  const res = await call("POST", "/auth/refresh");
  if (!res.ok) return false;
  const b = await res.json();
  scheduleRenewal(b.expires_in);
  say("Session renewed at " + new Date().toLocaleTimeString() + ".");
  return true;
}

// me is who is signed in, renewing the session once if the access cookie
// has expired; null when nobody is.
async function me() {
  let res = await call("GET", "/me");
  if (res.status === 401 && (await renew())) res = await call("GET", "/me");
  return res.ok ? res.json() : null;
}

// sessionLost tells a 401 for a missing or spent access cookie from one
// for a wrong password or code, which must not be sent twice.
async function sessionLost(res) {
  if (res.status !== 401) return false;
  const { text } = await problem(res.clone());
  return text === "Not authenticated" || text === "Could not validate credentials";
}

// account calls one of the signed-in user's endpoints, renewing the
// session once if the access cookie has run out. When the session is
// over it shows the sign-in form and returns null.
async function account(method, path, body) {
  let res = await call(method, path, body);
  if (await sessionLost(res)) {
    if (!(await renew())) {
      await show(null);
      say("Your session has ended. Sign in again.");
      $("username").focus();
      return null;
    }
    res = await call(method, path, body);
  }
  return res;
}

async function show(user) {
  who = user;
  $("signin").hidden = !!user;
  $("account").hidden = !user;
  $("tfa").hidden = !user;
  $("methods").hidden = !user || providers.length === 0;
  forgetSecrets();
  if (user) {
    $("who-username").textContent = user.username;
    $("who-role").textContent = user.role;
    $("who-id").textContent = user.id;
    endAttempt();
    await refreshTFA();
    await refreshMethods();
  } else {
    clearTimeout(renewTimer);
    $("password").value = "";
  }
  showCookies();
}

// onSubmit runs send on the form's submit with its button disabled and
// its error line cleared; a network failure is told in the error line.
function onSubmit(formId, errorId, send) {
  const form = $(formId);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    $(errorId).textContent = "";
    button.disabled = true;
    try {
      await send();
    } catch {
      $(errorId).textContent = unreachable;
    } finally {
      button.disabled = false;
    }
  });
}

// signedIn finishes a login (password alone, or with the second factor).
async function signedIn(res) {
  scheduleRenewal((await res.json()).expires_in);
  await show(await me());
  say("Signed in.");
  $("account-title").focus();
}

async function signIn() {
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) {
    fail("signin-error", username ? "password" : "username", "Enter your username and password.");
    return;
  }
  const res = await call("POST", "/auth/login", { username, password });
  if (res.ok) return signedIn(res);
  const p = await problem(res);
  if (p.code === "mfa_required" && typeof p.body.mfa_token === "string") {
    askSecondFactor(p.body.mfa_token, p.body.expires_in);
    return;
  }
  fail("signin-error", "password", p.text);
}

// askSecondFactor swaps the password form for the code form, for the
// attempt that the mfa_token names.
function askSecondFactor(token, expiresIn) {
  attempt = token;
  say("");
  $("password").value = "";
  $("signin-form").hidden = true;
  $("mfa-form").hidden = false;
  $("mfa-error").textContent = "";
  $("mfa-code").value = "";
  $("mfa-code").focus();
  clearTimeout(attemptTimer);
  const ttl = typeof expiresIn === "number" && expiresIn > 0 ? expiresIn : 300;
  attemptTimer = setTimeout(() => startOver("The sign-in took too long. Enter your password again."), ttl * 1000);
}

// endAttempt forgets the pending sign-in and shows the password form.
function endAttempt() {
  attempt = "";
  attemptInCookie = false;
  clearTimeout(attemptTimer);
  $("mfa-form").hidden = true;
  $("mfa-code").value = "";
  $("mfa-error").textContent = "";
  $("signin-form").hidden = false;
}

// startOver goes back to the password, saying why.
function startOver(why) {
  endAttempt();
  $("signin-error").textContent = why;
  $("password").focus();
}

async function secondFactor() {
  const code = $("mfa-code").value.trim();
  if (!code) {
    fail("mfa-error", "mfa-code", "Enter the code from your app, or a recovery code.");
    return;
  }
  const res = await call("POST", "/auth/login/mfa", attemptInCookie ? { code } : { mfa_token: attempt, code });
  if (res.ok) return signedIn(res);
  const p = await problem(res);
  if (p.code === "invalid_mfa_token") {
    startOver("This sign-in has ended (it took too long, or had too many wrong codes). Sign in again.");
    return;
  }
  if (p.code === "invalid_mfa_code") {
    p.text = "That code is not right, or it was used already. Try the code your app shows now, or another recovery code.";
  }
  $("mfa-code").value = "";
  fail("mfa-error", "mfa-code", p.text);
}

async function signOut(scope) {
  const path = "/auth/logout" + (scope ? "?scope=" + scope : "");
  let res = await call("POST", path);
  if (res.status === 401 && (await renew())) res = await call("POST", path);
  await show(null);
  say(res.ok || res.status === 401 ? "Signed out." : await detail(res));
  $("username").focus();
}

// Two-factor authentication, while signed in. The section shows one panel
// at a time: off, password (to start), scan (the QR code and the key),
// codes (the recovery codes, once), on, renew (new codes), disable.

function tfaPanel(name, focusId) {
  for (const el of document.querySelectorAll("#tfa [data-panel]")) el.hidden = el.dataset.panel !== name;
  if (focusId) $(focusId).focus();
}

// forgetSecrets takes the TOTP key, the QR code and the recovery codes off
// the screen, and empties the section's fields and error lines.
function forgetSecrets() {
  $("qr").replaceChildren();
  $("totp-secret").textContent = "";
  $("codes-list").replaceChildren();
  if (codesURL) URL.revokeObjectURL(codesURL);
  codesURL = "";
  $("codes-download").removeAttribute("href");
  for (const el of document.querySelectorAll("#tfa input")) el.value = "";
  for (const el of document.querySelectorAll("#tfa .error")) el.textContent = "";
}

// refreshTFA shows whether two-factor authentication is on, from GET /me/mfa.
async function refreshTFA() {
  const res = await account("GET", "/me/mfa");
  if (!res) return;
  if (!res.ok) {
    $("tfa-state").textContent = await detail(res);
    tfaPanel("");
    return;
  }
  const st = await res.json();
  if (!st.totp) {
    $("tfa-state").textContent = "Two-factor authentication is off.";
    tfaPanel("off");
    return;
  }
  const n = st.recovery_codes_left;
  let text = "Two-factor authentication is on. You have " + n + (n === 1 ? " recovery code" : " recovery codes") + " left.";
  if (n <= 3) text += " Make new ones before you run out.";
  $("tfa-state").textContent = text;
  tfaPanel("on");
}

// leaveTFA ends whatever the section was doing and shows its state.
async function leaveTFA() {
  forgetSecrets();
  await refreshTFA();
  $("tfa-title").focus();
}

const svgNS = "http://www.w3.org/2000/svg";
// svgAllowed are the elements a QR code is drawn with, and their attributes.
const svgAllowed = {
  svg: ["width", "height", "viewBox", "shape-rendering"],
  rect: ["x", "y", "width", "height", "fill"],
  path: ["d", "fill", "stroke", "stroke-width"],
};

// qrImage turns the server's SVG text into an element of this page. The
// text is parsed as SVG, never as HTML, and copied element by element
// through svgAllowed, so nothing in it can run or load anything.
function qrImage(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (doc.getElementsByTagNameNS("*", "parsererror").length || root.localName !== "svg") {
    throw new Error("the QR code is not an SVG document");
  }
  const img = copySVG(root);
  img.setAttribute("role", "img");
  img.setAttribute("aria-label", "QR code of the key, for your authenticator app");
  return img;
}

function copySVG(el) {
  const allowed = svgAllowed[el.localName];
  if (el.namespaceURI !== svgNS || !allowed) throw new Error("unexpected element in the QR code: " + el.localName);
  const out = document.createElementNS(svgNS, el.localName);
  for (const a of el.attributes) {
    if (a.namespaceURI === null && allowed.includes(a.name)) out.setAttribute(a.name, a.value);
  }
  for (const child of el.children) out.appendChild(copySVG(child));
  return out;
}

async function startEnrolment() {
  const password = $("enrol-password").value;
  if (!password) {
    fail("enrol-error", "enrol-password", "Enter your current password.");
    return;
  }
  const res = await account("POST", "/me/mfa/totp", { current_password: password });
  if (!res) return;
  $("enrol-password").value = "";
  if (!res.ok) {
    const p = await problem(res);
    if (p.code === "mfa_already_enabled") return leaveTFA();
    fail("enrol-error", "enrol-password", p.text);
    return;
  }
  const e = await res.json();
  let img;
  try {
    img = qrImage(e.qr_svg);
  } catch {
    img = document.createElement("p");
    img.textContent = "The QR code cannot be shown; type the key below into your app.";
  }
  $("qr").replaceChildren(img);
  // In groups of four, as authenticator apps accept it typed.
  $("totp-secret").textContent = e.secret.replace(/(.{4})(?=.)/g, "$1 ");
  $("tfa-state").textContent = "Not on yet: it turns on when you enter a code from the app.";
  tfaPanel("scan", "scan-title");
}

async function confirmEnrolment() {
  const code = $("confirm-code").value.trim();
  if (!code) {
    fail("confirm-error", "confirm-code", "Enter the 6-digit code that the app shows.");
    return;
  }
  const res = await account("POST", "/me/mfa/totp/confirm", { code });
  if (!res) return;
  if (!res.ok) {
    const p = await problem(res);
    if (p.code === "invalid_mfa_code") p.text = "That code is not right. Check that your phone's clock is right, and enter the code the app shows now.";
    $("confirm-code").value = "";
    fail("confirm-error", "confirm-code", p.text);
    return;
  }
  showCodes((await res.json()).recovery_codes);
  say("Two-factor authentication is on. Your other sessions have been signed out.");
}

// showCodes puts a new set of recovery codes on the screen, with a text
// file of them to download: a Blob URL, revoked when they are put away.
function showCodes(codes) {
  forgetSecrets();
  const items = codes.map((c) => {
    const li = document.createElement("li");
    li.textContent = c;
    return li;
  });
  $("codes-list").replaceChildren(...items);
  const text = "Gatehouse recovery codes for " + (who ? who.username : "your account") + "\n" +
    "Each code signs you in once, in place of a code from your authenticator app.\n" +
    "Made " + new Date().toISOString().slice(0, 10) + ".\n\n" + codes.join("\n") + "\n";
  codesURL = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  $("codes-download").href = codesURL;
  $("tfa-state").textContent = "Two-factor authentication is on.";
  tfaPanel("codes", "codes-title");
}

async function newCodes() {
  const code = $("renew-code").value.trim();
  if (!code) {
    fail("renew-error", "renew-code", "Enter the 6-digit code that your app shows.");
    return;
  }
  const res = await account("POST", "/me/mfa/recovery-codes", { code });
  if (!res) return;
  if (!res.ok) {
    const p = await problem(res);
    if (p.code === "invalid_mfa_code") p.text = "That code is not right, or it was used already. Enter the code your app shows now.";
    $("renew-code").value = "";
    fail("renew-error", "renew-code", p.text);
    return;
  }
  showCodes((await res.json()).recovery_codes);
  say("New recovery codes are made; the old ones no longer work.");
}

async function disableTFA() {
  const password = $("disable-password").value;
  const code = $("disable-code").value.trim();
  if (!password || !code) {
    fail("disable-error", password ? "disable-code" : "disable-password", "Enter your current password and a code.");
    return;
  }
  const res = await account("POST", "/me/mfa/disable", { current_password: password, code });
  if (!res) return;
  if (!res.ok) {
    const p = await problem(res);
    if (p.code === "invalid_mfa_code") p.text = "That code is not right, or it was used already.";
    $("disable-code").value = "";
    fail("disable-error", p.code === "invalid_mfa_code" ? "disable-code" : "disable-password", p.text);
    return;
  }
  await leaveTFA();
  say("Two-factor authentication is off.");
}

// Identity providers.

function providerName(id) {
  const p = providers.find((x) => x.id === id);
  return p ? p.name : id;
}

// signInWith leaves for the provider; Gatehouse brings the browser back
// to this page, with the session cookies set, or with an error. The flow
// is bound to this browser by Gatehouse's own cookie; the state the page
// sends is only the provider's id, to name it when the browser is back.
function signInWith(p) {
  const q = new URLSearchParams({ mode: "cookie", redirect_uri: issuer + "/", state: p.id });
  location.assign("/auth/oauth/" + encodeURIComponent(p.id) + "/start?" + q);
}

function showProviders() {
  const box = $("provider-buttons");
  box.replaceChildren();
  for (const p of providers) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Sign in with " + p.name;
    b.addEventListener("click", () => signInWith(p));
    box.append(b);
  }
  $("providers").hidden = providers.length === 0;
}

const landingErrors = {
  access_denied: (p) => "The sign-in at " + p + " was cancelled or refused.",
  account_exists: (p) => "An account already uses this address. Sign in with your password, then link " + p + " under Sign-in methods.",
  signup_closed: () => "There is no account for this identity, and new accounts cannot be made here.",
  identity_taken: (p) => "This " + p + " account is already linked to another account.",
  server_error: (p) => "The sign-in at " + p + " failed. Try again later.",
};

// landing reads what a provider sign-in brought back in the address, once:
// the parameters are removed from it at once, so that a reload does not
// replay them. They only choose what to say: whether the user is signed
// in is GET /me's answer, and a second factor is asked only if the
// server left a pending attempt (its cookie).
function landing() {
  const q = new URLSearchParams(location.search);
  const keys = ["state", "error", "mfa_required", "linked"];
  if (!keys.some((k) => q.has(k))) return null;
  history.replaceState(null, "", location.pathname);
  if (q.has("linked")) return { linked: q.get("linked") };
  const name = q.has("state") ? providerName(q.get("state")) : "the provider";
  const err = q.get("error");
  if (err) return { message: (landingErrors[err] || landingErrors.server_error)(name) };
  if (q.has("mfa_required")) return { mfa: true };
  return { signedIn: true };
}

// refreshMethods lists the linked identities, from GET /me/identities.
async function refreshMethods() {
  if (providers.length === 0) return;
  $("methods-error").textContent = "";
  const res = await account("GET", "/me/identities");
  if (!res) return;
  if (!res.ok) {
    $("methods-state").textContent = await detail(res);
    return;
  }
  const ids = (await res.json()).identities;
  $("methods-state").textContent = ids.length === 0 ? "No identity provider is linked." : "You can sign in with:";
  const list = $("identity-list");
  list.replaceChildren();
  for (const id of ids) {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = providerName(id.provider) + (id.email ? " (" + id.email + ")" : "") +
      ", linked " + new Date(id.created_at).toLocaleDateString();
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Unlink";
    b.setAttribute("aria-label", "Unlink " + providerName(id.provider) + (id.email ? " " + id.email : ""));
    b.addEventListener("click", () => unlink(id));
    li.append(text, " ", b);
    list.append(li);
  }
  const links = $("link-buttons");
  links.replaceChildren();
  for (const p of providers) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Link " + p.name;
    b.addEventListener("click", () => link(p, b));
    links.append(b);
  }
}

async function unlink(id) {
  const res = await account("DELETE", "/me/identities/" + encodeURIComponent(id.id));
  if (!res) return;
  if (!res.ok) {
    const p = await problem(res);
    if (p.code === "last_login_method") p.text = "This is your only way to sign in: set a password (with a reset link) or link another provider first.";
    $("methods-error").textContent = p.text;
    $("methods-title").focus();
    return;
  }
  await refreshMethods();
  say(providerName(id.provider) + " is unlinked.");
  $("methods-title").focus();
}

// link asks Gatehouse for the provider's consent page (the answer binds the
// flow to this browser) and goes there.
async function link(p, button) {
  button.disabled = true;
  try {
    const res = await account("POST", "/me/identities/" + encodeURIComponent(p.id), { redirect_uri: issuer + "/" });
    if (!res) return;
    if (!res.ok) {
      const pr = await problem(res);
      if (pr.code === "reauthentication_required") pr.text = "To link " + p.name + ", sign out and sign in again first (the sign-in must be recent).";
      $("methods-error").textContent = pr.text;
      $("methods-title").focus();
      return;
    }
    location.assign((await res.json()).authorize_url);
  } finally {
    button.disabled = false;
  }
}

async function loadProviders() {
  try {
    const [ps, disc] = await Promise.all([fetch("/auth/providers"), fetch("/.well-known/openid-configuration")]);
    if (ps.ok && disc.ok) {
      providers = (await ps.json()).providers;
      issuer = (await disc.json()).issuer;
    }
  } catch {
    providers = [];
  }
  showProviders();
}

async function start() {
  $("account-title").tabIndex = -1;
  onSubmit("signin-form", "signin-error", signIn);
  onSubmit("mfa-form", "mfa-error", secondFactor);
  $("mfa-cancel").addEventListener("click", () => startOver(""));
  $("signout").addEventListener("click", () => signOut(""));
  $("signout-all").addEventListener("click", () => signOut("global"));

  onSubmit("enrol-form", "enrol-error", startEnrolment);
  onSubmit("confirm-form", "confirm-error", confirmEnrolment);
  onSubmit("renew-form", "renew-error", newCodes);
  onSubmit("disable-form", "disable-error", disableTFA);
  $("tfa-on").addEventListener("click", () => tfaPanel("password", "enrol-password"));
  $("codes-new").addEventListener("click", () => tfaPanel("renew", "renew-code"));
  $("tfa-off").addEventListener("click", () => tfaPanel("disable", "disable-password"));
  $("codes-done").addEventListener("click", leaveTFA);
  for (const b of document.querySelectorAll("#tfa [data-cancel]")) b.addEventListener("click", leaveTFA);

  await loadProviders();
  const landed = landing();
  try {
    await show(await me());
  } catch {
    await show(null);
    say("Gatehouse cannot be reached.");
  }
  if (landed && landed.mfa && !who) {
    attemptInCookie = true;
    askSecondFactor("", 300);
  } else if (landed && landed.linked) {
    say(providerName(landed.linked) + " is linked: you can sign in with it.");
  } else if (landed && landed.message) {
    say(landed.message);
    $("signin-error").textContent = who ? "" : landed.message;
  } else if (landed && landed.signedIn && who) {
    await renew(); // learns how long the access cookie lasts
    say("Signed in.");
    $("account-title").focus();
  }
  document.body.dataset.ready = "true";
}

start();
