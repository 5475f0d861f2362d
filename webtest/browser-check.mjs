// Drives Gatehouse's built-in web page in headless Chromium and checks the
// promises of cookie mode: no token within reach of the page's script, a
// session that survives a reload through a silent refresh, sign-out that
// ends it, and state-changing requests from another site refused.
//
// Then the pages that links in mail lead to: the token in the fragment is
// consumed only when the user presses the button, never by a fetch of the
// link (a mail scanner).
//
// Between the two, two-factor authentication as bob: enrolment from the
// page (the test computes the TOTP codes from the key on the screen),
// sign-in with a code and with a recovery code, new recovery codes, and
// turning it off again, with nothing secret left in storage or cookies.
//
// Last, a sign-in through an identity provider (zitadel/oidc's example
// provider, with its own login form), in cookie mode: the provider's
// button, its login page, back signed in, the identity listed, sign out;
// a replayed callback is Gatehouse's JSON 400, not a redirect.
//
// Usage: node browser-check.mjs GATEHOUSE_URL ACCESS_TTL_SECONDS ARTIFACTS_DIR SERVER_LOG PROVIDER_JSON
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

const [base, ttlArg, artifacts, serverLog, providerFile] = process.argv.slice(2);
const accessTTL = Number(ttlArg);
fs.mkdirSync(artifacts, { recursive: true });

let failures = 0;
let lastStep = 0; // the last TOTP step used, see freshCode
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

// The attacker: a page on another site (localhost is not 127.0.0.1's site)
// with a form that posts to Gatehouse, as a CSRF attack would.
const attacker = http.createServer((req, res) => {
  res.setHeader("Content-Type", "text/html");
  if (req.url === "/form") {
    res.end(`<!doctype html><form id="f" method="POST" action="${base}/auth/logout?scope=global">
      <input name="x" value="y"></form><script>document.getElementById("f").submit()</script>`);
  } else if (req.url === "/refresh") {
    res.end(`<!doctype html><form id="f" method="POST" action="${base}/auth/refresh"></form>
      <script>document.getElementById("f").submit()</script>`);
  } else {
    res.end(`<!doctype html><p>attacker</p>`);
  }
});
await new Promise((ok) => attacker.listen(0, "127.0.0.1", ok));
const attackerURL = `http://localhost:${attacker.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });

const requests = [];
context.on("response", (r) => requests.push({ method: r.request().method(), url: r.url(), status: r.status() }));
const seen = (method, p, status) => requests.some((r) => r.method === method && new URL(r.url).pathname === p && r.status === status);

async function ready(page) {
  await page.waitForSelector("body[data-ready=true]");
}
// Every cookie of the context: a URL filter would hide the refresh cookie,
// whose path is /auth/refresh.
const cookieNames = async () => (await context.cookies()).map((c) => c.name).sort();

try {
  let page = await context.newPage();
  await page.goto(base + "/");
  await ready(page);
  check(await page.isVisible("#signin"), "signed out: the sign-in form shows");
  await page.screenshot({ path: path.join(artifacts, "signin-phone.png"), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `fits a phone screen (horizontal overflow ${overflow}px)`);

  // A wrong password is reported, not a crash.
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password", { exact: true }).fill("not the password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForFunction(() => document.getElementById("signin-error").textContent !== "");
  check((await page.textContent("#signin-error")) === "Invalid username or password", "a wrong password is reported");

  // Sign in.
  await page.getByLabel("Password", { exact: true }).fill("secret123");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForSelector("#account:not([hidden])");
  check((await page.textContent("#who-username")) === "alice", "signed in: the page shows who you are");
  check((await page.textContent("#who-role")) === "admin", "signed in: the page shows the role");

  // No token within reach of JavaScript.
  const js = await page.evaluate(() => ({
    cookie: document.cookie, local: localStorage.length, session: sessionStorage.length,
    html: document.documentElement.outerHTML,
  }));
  check(js.cookie === "", `document.cookie holds no token (it is ${JSON.stringify(js.cookie)})`);
  check(js.local === 0 && js.session === 0, "nothing in localStorage or sessionStorage");
  check(!/eyJ[\w-]+\.[\w-]+\./.test(js.html), "no token in the page");
  const jar = await context.cookies();
  const access = jar.find((c) => c.name === "gatehouse_access");
  const refresh = jar.find((c) => c.name === "gatehouse_refresh");
  check(access && access.httpOnly && access.path === "/" && access.sameSite === "Strict", "the access cookie is HttpOnly, SameSite=Strict, path /");
  check(refresh && refresh.httpOnly && refresh.path === "/auth/refresh" && refresh.sameSite === "Strict", "the refresh cookie is HttpOnly, SameSite=Strict, path /auth/refresh");
  await page.screenshot({ path: path.join(artifacts, "signed-in-phone.png"), fullPage: true });

  // Reload: still signed in.
  await page.reload();
  await ready(page);
  check(await page.isVisible("#account"), "after a reload: still signed in");

  // Let the access cookie run out with no page open, then come back: the
  // page renews the session with the refresh cookie, silently.
  await page.close();
  await new Promise((ok) => setTimeout(ok, (accessTTL + 1.5) * 1000));
  check(!(await cookieNames()).includes("gatehouse_access"), "the access cookie expired with the access token");
  requests.length = 0;
  page = await context.newPage();
  await page.goto(base + "/");
  await ready(page);
  check(await page.isVisible("#account"), "after the access token expired: still signed in");
  check(seen("GET", "/me", 401) && seen("POST", "/auth/refresh", 200) && seen("GET", "/me", 200),
    "…through a silent refresh (GET /me 401, POST /auth/refresh 200, GET /me 200)");
  check((await page.textContent("#status")).startsWith("Session renewed"), "the page says the session was renewed");
  check(await page.evaluate(() => document.cookie) === "", "document.cookie still holds no token");

  // Another site posts a form to Gatehouse: refused, and nothing happens.
  requests.length = 0;
  const evil = await context.newPage();
  await evil.goto(attackerURL + "/form");
  await evil.waitForLoadState("load");
  await evil.waitForTimeout(300);
  check(seen("POST", "/auth/logout", 403), "a cross-site form POST to /auth/logout is refused with 403");
  await evil.goto(attackerURL + "/refresh");
  await evil.waitForLoadState("load");
  await evil.waitForTimeout(300);
  check(seen("POST", "/auth/refresh", 403), "a cross-site form POST to /auth/refresh is refused with 403");
  const status = await evil.evaluate(async (u) => {
    try {
      const r = await fetch(u + "/me", { credentials: "include" });
      return "read " + r.status;
    } catch {
      return "blocked";
    }
  }, base);
  check(status === "blocked", `another site cannot read /me with the user's cookies (${status})`);
  await evil.close();
  await page.reload();
  await ready(page);
  check(await page.isVisible("#account"), "after the attacks: still signed in");
  await page.screenshot({ path: path.join(artifacts, "signed-in-after-attacks.png"), fullPage: true });

  // Sign out: the session ends and the cookies go.
  requests.length = 0;
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.waitForSelector("#signin:not([hidden])");
  check(seen("POST", "/auth/logout", 204), "sign out: POST /auth/logout 204");
  check((await cookieNames()).length === 0, "sign out: both cookies are gone");
  await page.reload();
  await ready(page);
  check(await page.isVisible("#signin"), "after sign-out and a reload: signed out");
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(artifacts, "signed-out-desktop.png") });

  await secondFactorChecks(context);
  await linkPages(context);
  await providerChecks();
} catch (err) {
  console.log("FAIL " + (err && err.stack ? err.stack : err));
  failures++;
} finally {
  await browser.close();
  attacker.close();
}
// TOTP per RFC 6238 (SHA-1, 6 digits, 30-second steps), computed here from
// the base32 key that the page shows, as an authenticator app would.
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const out = [];
  let bits = 0, value = 0;
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  return Buffer.from(out);
}

function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1e6).padStart(6, "0");
}

function stepNow() {
  return Math.floor(Date.now() / 30000);
}

function sleep(ms) {
  return new Promise((ok) => setTimeout(ok, ms));
}

// freshCode is a code for a step after the last one used (each step is
// accepted once, the confirming code's included), within the server's
// window of one step either side of now: it waits for the next step when
// the one after the last used is further ahead.
async function freshCode(key) {
  if (lastStep > stepNow()) console.log(`     (waiting ${Math.ceil(30 - (Date.now() / 1000) % 30)} s for the next TOTP step)`);
  while (lastStep > stepNow()) await sleep(200);
  lastStep = Math.max(lastStep + 1, stepNow());
  return totp(key, lastStep);
}

// pageGet is a same-origin GET from the page, with its cookies, renewing
// the session once if the access cookie ran out meanwhile.
function pageGet(page, p) {
  return page.evaluate(async (p) => {
    let r = await fetch(p);
    if (r.status === 401 && (await fetch("/auth/refresh", { method: "POST" })).ok) r = await fetch(p);
    return { status: r.status, body: r.ok ? await r.json() : null };
  }, p);
}

async function noSecretsKept(page, what, secrets) {
  const js = await page.evaluate(() => ({
    cookie: document.cookie, local: localStorage.length, session: sessionStorage.length,
    url: location.href, html: document.documentElement.outerHTML,
  }));
  check(js.cookie === "" && js.local === 0 && js.session === 0,
    `${what}: localStorage and sessionStorage are empty and document.cookie holds no token (${JSON.stringify(js.cookie)})`);
  check(!secrets.some((x) => js.url.includes(x)), `${what}: no secret in the address`);
  return js.html;
}

async function passwordSignIn(page, password) {
  await page.fill("#username", "bob");
  await page.fill("#password", password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

async function signOutFrom(page) {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.waitForSelector("#signin:not([hidden])");
}

async function textOf(page, sel) {
  return (await page.textContent(sel)).trim();
}

function waitText(page, sel, part) {
  return page.waitForFunction(([sel, part]) => document.querySelector(sel).textContent.includes(part), [sel, part]);
}

async function secondFactorChecks(context) {
  check(totp(Buffer.from("12345678901234567890"), 1) === "287082" && base32("GEZDGNBV").toString() === "12345",
    "the test's TOTP gives RFC 6238's test value");
  const page = await context.newPage();
  await page.goto(base + "/");
  await ready(page);
  await passwordSignIn(page, "password456");
  await page.waitForSelector("#tfa [data-panel=off]:not([hidden])");
  check((await textOf(page, "#tfa-state")) === "Two-factor authentication is off.", "2FA: bob's page says two-factor authentication is off");

  // Turn it on: the password first (a wrong one is refused).
  await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
  await page.fill("#enrol-password", "not bob's password");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForFunction(() => document.getElementById("enrol-error").textContent !== "");
  check((await textOf(page, "#enrol-error")) === "Current password is incorrect", "2FA: a wrong current password is reported");
  await page.fill("#enrol-password", "password456");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForSelector("#confirm-form:not([hidden])");
  const qr = await page.evaluate(() => {
    const svg = document.querySelector("#qr > svg");
    if (!svg) return null;
    const box = svg.getBoundingClientRect();
    return { names: [...svg.querySelectorAll("*")].map((e) => e.localName), width: box.width, height: box.height, label: svg.getAttribute("aria-label") };
  });
  check(qr && qr.width >= 150 && qr.width === qr.height && qr.names.length >= 2 && qr.names.every((n) => n === "rect" || n === "path") && !!qr.label,
    `2FA: the QR code shows, square, of rect and path only, with a text alternative (${JSON.stringify(qr && { ...qr, names: [...new Set(qr.names)] })})`);
  const secret = (await textOf(page, "#totp-secret")).replace(/\s/g, "");
  check(/^[A-Z2-7]{32}$/.test(secret), "2FA: the key shows as text, 32 base32 letters (160 bits)");
  const key = base32(secret);
  await page.screenshot({ path: path.join(artifacts, "mfa-enrol.png"), fullPage: true });

  // A wrong code is refused; the current one turns it on.
  await page.fill("#confirm-code", totp(key, stepNow() - 20));
  await page.getByRole("button", { name: "Turn on", exact: true }).click();
  await page.waitForFunction(() => document.getElementById("confirm-error").textContent !== "");
  check((await textOf(page, "#confirm-error")).startsWith("That code is not right"), "2FA: a wrong confirming code is reported");
  await page.fill("#confirm-code", await freshCode(key));
  await page.getByRole("button", { name: "Turn on", exact: true }).click();
  await page.waitForSelector("#tfa [data-panel=codes]:not([hidden])");
  const codes = await page.$$eval("#codes-list li", (els) => els.map((e) => e.textContent));
  check(codes.length === 10 && new Set(codes).size === 10 && codes.every((c) => /^[a-z2-7]{4}(-[a-z2-7]{4}){4}$/.test(c)),
    `2FA: 10 distinct recovery codes show (${codes[0]}, …)`);
  check((await textOf(page, "#codes-note")).includes("shown only now"), "2FA: the page says the codes are shown only now");
  check((await textOf(page, "#qr")) === "" && (await textOf(page, "#totp-secret")) === "", "2FA: once on, the QR code and the key are gone from the page");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download as text" }).click(),
  ]);
  const file = fs.readFileSync(await download.path(), "utf8");
  check(download.suggestedFilename() === "gatehouse-recovery-codes.txt" && download.url().startsWith("blob:") && codes.every((c) => file.includes(c)) && file.includes("bob"),
    `2FA: "Download as text" saves the 10 codes (${download.suggestedFilename()}, from a ${download.url().split(":")[0]}: URL)`);
  await page.screenshot({ path: path.join(artifacts, "mfa-recovery-codes.png"), fullPage: true });
  await noSecretsKept(page, "2FA, codes on screen", [secret, ...codes]);
  const me = await pageGet(page, "/me");
  check(me.body && me.body.mfa_enabled === true, "2FA: GET /me says mfa_enabled");
  await page.getByRole("button", { name: "I have saved them" }).click();
  await waitText(page, "#tfa-state", "10 recovery codes left");
  check(await page.isVisible("#tfa [data-panel=on]"), "2FA: on, with 10 recovery codes left");
  let html = await noSecretsKept(page, "2FA, codes put away", [secret, ...codes]);
  check(!html.includes(secret) && !codes.some((c) => html.includes(c)), "2FA: the key and the codes are gone from the page once put away");

  // Sign in with the password and a code from the app.
  await signOutFrom(page);
  await passwordSignIn(page, "password456");
  await page.waitForSelector("#mfa-form:not([hidden])");
  check(await page.isHidden("#signin-form"), "2FA sign-in: after the password, the page asks for a code");
  check(await page.evaluate(() => document.activeElement.id === "mfa-code"), "2FA sign-in: the code field has the focus");
  check((await cookieNames()).length === 0, "2FA sign-in: no session cookie before the second factor");
  check(seen("POST", "/auth/login", 401), "2FA sign-in: POST /auth/login answered 401 (mfa_required)");
  await page.screenshot({ path: path.join(artifacts, "mfa-code-prompt.png"), fullPage: true });
  await page.locator("#mfa-form").getByLabel("Authentication code or recovery code").fill("123-45x");
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForFunction(() => document.getElementById("mfa-error").textContent !== "");
  check((await textOf(page, "#mfa-error")).startsWith("That code is not right") && await page.isVisible("#mfa-form"),
    "2FA sign-in: a wrong code is reported, and the page asks again");
  await page.locator("#mfa-form").getByLabel("Authentication code or recovery code").fill(await freshCode(key));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForSelector("#account:not([hidden])");
  check((await textOf(page, "#who-username")) === "bob" && (await textOf(page, "#mfa-error")) === "", "2FA sign-in: password and code sign bob in");
  await noSecretsKept(page, "2FA, signed in with a code", [secret]);

  // A dead attempt (here a token the server does not know) goes back to
  // the password.
  await signOutFrom(page);
  await passwordSignIn(page, "password456");
  await page.waitForSelector("#mfa-form:not([hidden])");
  await page.route("**/auth/login/mfa", async (route) => {
    const body = JSON.parse(route.request().postData());
    body.mfa_token = "not-" + body.mfa_token;
    await route.continue({ postData: JSON.stringify(body) });
  }, { times: 1 });
  await page.locator("#mfa-form").getByLabel("Authentication code or recovery code").fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForSelector("#signin-form:not([hidden])");
  check(seen("POST", "/auth/login/mfa", 401) && (await textOf(page, "#signin-error")).startsWith("This sign-in has ended") && await page.isHidden("#mfa-form"),
    "2FA sign-in: invalid_mfa_token goes back to the password, with a message");

  // Sign in with a recovery code: it is spent.
  await passwordSignIn(page, "password456");
  await page.waitForSelector("#mfa-form:not([hidden])");
  check((await textOf(page, "#signin-error")) === "", "2FA sign-in: the old message is cleared");
  await page.locator("#mfa-form").getByLabel("Authentication code or recovery code").fill(codes[0].toUpperCase());
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForSelector("#account:not([hidden])");
  check((await textOf(page, "#who-username")) === "bob", "2FA sign-in: password and a recovery code sign bob in");
  const status = await pageGet(page, "/me/mfa");
  check(status.body && status.body.totp === true && status.body.recovery_codes_left === 9, `2FA: GET /me/mfa shows 9 recovery codes left (${JSON.stringify(status.body)})`);
  await page.waitForSelector("#tfa [data-panel=on]:not([hidden])");
  check((await textOf(page, "#tfa-state")).includes("You have 9 recovery codes left."), "2FA: the page shows 9 recovery codes left");
  await noSecretsKept(page, "2FA, signed in with a recovery code", [secret, ...codes]);

  // New recovery codes, with a code from the app: the old ones stop working.
  await page.getByRole("button", { name: "New recovery codes" }).click();
  await page.fill("#renew-code", await freshCode(key));
  await page.getByRole("button", { name: "Make new codes" }).click();
  await page.waitForSelector("#tfa [data-panel=codes]:not([hidden])");
  const fresh = await page.$$eval("#codes-list li", (els) => els.map((e) => e.textContent));
  check(fresh.length === 10 && !fresh.some((c) => codes.includes(c)), "2FA: new recovery codes: 10 others");
  await page.getByRole("button", { name: "I have saved them" }).click();
  await waitText(page, "#tfa-state", "10 recovery codes left");

  // Turn it off: an old recovery code no longer does; a new one does.
  await page.getByRole("button", { name: "Turn off", exact: true }).click();
  await page.fill("#disable-password", "password456");
  await page.fill("#disable-code", codes[1]);
  await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
  await page.waitForFunction(() => document.getElementById("disable-error").textContent !== "");
  check((await textOf(page, "#disable-error")).startsWith("That code is not right"), "2FA: a recovery code of the replaced set is refused");
  await page.fill("#disable-code", fresh[0]);
  await page.getByRole("button", { name: "Turn off two-factor authentication" }).click();
  await page.waitForSelector("#tfa [data-panel=off]:not([hidden])");
  const off = await pageGet(page, "/me/mfa");
  check(off.body && off.body.totp === false && (await textOf(page, "#tfa-state")) === "Two-factor authentication is off.", "2FA: turned off (GET /me/mfa: totp false)");
  await signOutFrom(page);
  check((await api("POST", "/auth/login", { username: "bob", password: "password456" })).status === 200, "2FA: off, bob signs in with the password alone");
  await page.close();
}

// linkFromLog waits for the server's log (mail goes there without SMTP)
// to hold a link to page, and returns the newest.
async function linkFromLog(page, after) {
  const re = new RegExp(`link="?(https?://[^"\\s]+/${page}#token=[A-Za-z0-9_-]+)`, "g");
  for (let i = 0; i < 100; i++) {
    const links = [...fs.readFileSync(serverLog, "utf8").matchAll(re)].map((m) => m[1]).filter((l) => !after.includes(l));
    if (links.length) return links[links.length - 1];
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`no ${page} link in the server log`);
}

function api(method, p, body, bearer) {
  return fetch(base + p, {
    method, headers: { "Content-Type": "application/json", ...(bearer ? { Authorization: "Bearer " + bearer } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function linkPages(context) {
  const page = await context.newPage();

  // A verification link for bob, fetched first as a scanner would: that
  // consumes nothing; the user's click does.
  const login = await api("POST", "/auth/login", { username: "bob", password: "password456" });
  const { access_token: bob } = await login.json();
  check((await api("POST", "/auth/email/verify/request", undefined, bob)).status === 202, "verify/request: 202");
  const verify = await linkFromLog("verify-email", []);
  const scannedVerify = await fetch(verify);
  check(scannedVerify.status === 200 && (await scannedVerify.text()).includes("Verify your email address"), "a scanner's GET of the verification link gets the page, and no token reaches the server");
  requests.length = 0;
  await page.goto(verify);
  await page.waitForSelector("#verify:not([hidden])");
  check(new URL(page.url()).hash === "", "the verify page takes the token out of the address bar");
  check(!requests.some((r) => r.method === "POST"), "the verify page posts nothing before the user acts");
  await page.getByRole("button", { name: "Verify my address" }).click();
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("is verified"));
  check(seen("POST", "/auth/email/verify", 200), "the user's click verifies the address: POST /auth/email/verify 200");
  await page.screenshot({ path: path.join(artifacts, "verify-email-done.png"), fullPage: true });
  const me = await (await api("GET", "/me", undefined, bob)).json();
  check(me.email_verified === true, "GET /me: email_verified true");

  // A reset link, the same way.
  check((await api("POST", "/auth/password/forgot", { email: "bob@example.com" })).status === 202, "forgot: 202");
  const reset = await linkFromLog("reset-password", []);
  const scanned = await fetch(reset);
  check(scanned.status === 200 && (await scanned.text()).includes("Choose a new password"), "a scanner's GET of the reset link gets the page, and no token reaches the server");
  requests.length = 0;
  await page.goto(reset);
  await page.waitForSelector("#reset:not([hidden])");
  check(new URL(page.url()).hash === "", "the reset page takes the token out of the address bar");
  check(!requests.some((r) => r.method === "POST"), "the reset page posts nothing before the user acts");
  await page.screenshot({ path: path.join(artifacts, "reset-password.png"), fullPage: true });
  await page.fill("#new-password", "bobs-new-passphrase");
  await page.fill("#new-password-again", "bobs-new-passphrase");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("password is changed"));
  check(seen("POST", "/auth/password/reset", 204), "the user's click resets the password: POST /auth/password/reset 204");
  check((await api("GET", "/me", undefined, bob)).status === 401, "the reset ended bob's sessions");
  check((await api("POST", "/auth/login", { username: "bob", password: "bobs-new-passphrase" })).status === 200, "bob logs in with the new password");
  await page.close();
}

if (failures) {
  console.log(`webtest: ${failures} check(s) failed; screenshots in ${artifacts}`);
  process.exit(1);
}
console.log(`webtest: all checks passed; screenshots in ${artifacts}`);

// providerChecks signs in at the test provider from the page's button.
async function providerChecks() {
  const idp = JSON.parse(fs.readFileSync(providerFile, "utf8"));
  const ctx = await browser.newContext();
  const callbacks = [];
  ctx.on("request", (r) => { if (new URL(r.url()).pathname === "/auth/oauth/test/callback") callbacks.push(r.url()); });
  const page = await ctx.newPage();
  await page.goto(base + "/");
  await ready(page);
  const button = page.getByRole("button", { name: "Sign in with Test IdP" });
  check(await button.isVisible(), "provider: a button per provider on the sign-in form");
  await button.click();
  await page.waitForURL((u) => u.origin === new URL(idp.issuer).origin);
  await page.screenshot({ path: path.join(artifacts, "provider-login.png"), fullPage: true });
  await page.fill("#username", idp.username);
  await page.fill("#password", idp.password);
  await page.getByRole("button", { name: "Login" }).click();
  await page.waitForURL((u) => u.origin === base && u.pathname === "/");
  await ready(page);
  await page.waitForSelector("#account:not([hidden])");
  check(await page.isVisible("#account"), "provider: back at the page, signed in");
  check(new URL(page.url()).search === "", `provider: the address holds nothing from the flow (${page.url()})`);
  const cookieText = await page.evaluate(() => document.cookie);
  check(!/eyJ|gatehouse_access|gatehouse_refresh|gatehouse_oauth/.test(cookieText), `provider: no token or binding within the script's reach (${JSON.stringify(cookieText)})`);
  await page.waitForSelector("#identity-list li");
  const listed = await textOf(page, "#identity-list");
  check(listed.includes("Test IdP") && listed.includes("@"), `provider: the identity is listed under sign-in methods (${listed})`);
  check(await textOf(page, "#who-username") !== "", "provider: the account has a username");
  await page.screenshot({ path: path.join(artifacts, "provider-signed-in.png"), fullPage: true });
  await signOutFrom(page);
  check(await page.isVisible("#signin"), "provider: signed out");
  check(callbacks.length === 1, `provider: one callback (${callbacks.length})`);
  if (callbacks.length > 0) {
    const replay = await page.goto(callbacks[0]);
    const body = await replay.text();
    check(replay.status() === 400 && body.includes("invalid_state"), `provider: a replayed callback is a JSON 400 (${replay.status()} ${body.slice(0, 80)})`);
  }
  await ctx.close();
}
