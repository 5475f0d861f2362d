// Gatehouse's sign-in page, in cookie mode: the server keeps the tokens in
// HttpOnly cookies, so this script never sees one. It only asks:
//   POST /auth/login    with the header "Gatehouse-Cookie: 1" to sign in,
//   GET  /me            to learn who is signed in,
//   POST /auth/refresh  (no body) to renew the session from its cookie,
//   POST /auth/logout   to sign out.
// Every call is same-origin, so the browser sends the cookies by itself and
// Gatehouse's cross-origin check sees Sec-Fetch-Site: same-origin.
"use strict";

const $ = (id) => document.getElementById(id);
let renewTimer = 0;

function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (path === "/auth/login") init.headers["Gatehouse-Cookie"] = "1";
  return fetch(path, init);
}

async function detail(res) {
  try {
    const b = await res.json();
    return typeof b.detail === "string" ? b.detail : "Request failed (" + res.status + ")";
  } catch {
    return "Request failed (" + res.status + ")";
  }
}

function say(text) {
  $("status").textContent = text;
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

function show(user) {
  $("signin").hidden = !!user;
  $("account").hidden = !user;
  if (user) {
    $("who-username").textContent = user.username;
    $("who-role").textContent = user.role;
    $("who-id").textContent = user.id;
  } else {
    clearTimeout(renewTimer);
    $("password").value = "";
  }
  showCookies();
}

async function signIn(ev) {
  ev.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  $("signin-error").textContent = "";
  if (!username || !password) {
    $("signin-error").textContent = "Enter your username and password.";
    (username ? $("password") : $("username")).focus();
    return;
  }
  $("signin-button").disabled = true;
  try {
    const res = await call("POST", "/auth/login", { username, password });
    if (!res.ok) {
      let text = await detail(res);
      const wait = res.headers.get("Retry-After");
      if (res.status === 429 && wait) text += " (wait " + wait + " s)";
      $("signin-error").textContent = text;
      $("password").focus();
      return;
    }
    scheduleRenewal((await res.json()).expires_in);
    show(await me());
    say("Signed in.");
    $("account-title").focus();
  } catch {
    $("signin-error").textContent = "Gatehouse cannot be reached. Check your connection and try again.";
  } finally {
    $("signin-button").disabled = false;
  }
}

async function signOut(scope) {
  const path = "/auth/logout" + (scope ? "?scope=" + scope : "");
  let res = await call("POST", path);
  if (res.status === 401 && (await renew())) res = await call("POST", path);
  show(null);
  say(res.ok || res.status === 401 ? "Signed out." : await detail(res));
  $("username").focus();
}

async function start() {
  $("account-title").tabIndex = -1;
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut(""));
  $("signout-all").addEventListener("click", () => signOut("global"));
  try {
    show(await me());
  } catch {
    show(null);
    say("Gatehouse cannot be reached.");
  }
  document.body.dataset.ready = "true";
}

start();
