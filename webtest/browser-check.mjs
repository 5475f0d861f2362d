// Drives Gatehouse's built-in web page in headless Chromium and checks the
// promises of cookie mode: no token within reach of the page's script, a
// session that survives a reload through a silent refresh, sign-out that
// ends it, and state-changing requests from another site refused.
//
// Then the pages that links in mail lead to: the token in the fragment is
// consumed only when the user presses the button, never by a fetch of the
// link (a mail scanner).
//
// Usage: node browser-check.mjs GATEHOUSE_URL ACCESS_TTL_SECONDS ARTIFACTS_DIR SERVER_LOG
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const [base, ttlArg, artifacts, serverLog] = process.argv.slice(2);
const accessTTL = Number(ttlArg);
fs.mkdirSync(artifacts, { recursive: true });

let failures = 0;
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
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForFunction(() => document.getElementById("signin-error").textContent !== "");
  check((await page.textContent("#signin-error")) === "Invalid username or password", "a wrong password is reported");

  // Sign in.
  await page.getByLabel("Password").fill("secret123");
  await page.getByRole("button", { name: "Sign in" }).click();
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

  await linkPages(context);
} catch (err) {
  console.log("FAIL " + (err && err.stack ? err.stack : err));
  failures++;
} finally {
  await browser.close();
  attacker.close();
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
