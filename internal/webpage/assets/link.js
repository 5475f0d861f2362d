// The pages that links in Gatehouse's mail lead to: /verify-email and
// /reset-password. The token is in the URL's fragment (#token=…), which
// browsers never send to a server and never put in a Referer, so a link
// scanner that fetches the page consumes nothing. The script reads the
// token, takes it out of the address bar and the history, and POSTs it
// only when the user presses the button.
"use strict";

const $ = (id) => document.getElementById(id);

function readToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token") || "";
  if (location.hash) history.replaceState(null, "", location.pathname);
  return token;
}

async function detail(res) {
  try {
    const b = await res.json();
    return typeof b.detail === "string" ? b.detail : "Request failed (" + res.status + ")";
  } catch {
    return "Request failed (" + res.status + ")";
  }
}

function post(path, body) {
  return fetch(path, {
    method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
}

function wire(section, form, button, errorEl, send) {
  const token = readToken();
  if (!token) {
    $("status").textContent = "This link has no token. Open the link from the message again, or ask for a new one.";
    return;
  }
  $(section).hidden = false;
  $(form).addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $(errorEl).textContent = "";
    $(button).disabled = true;
    try {
      const done = await send(token);
      if (done) {
        $(section).hidden = true;
        $("status").textContent = done;
      }
    } catch (err) {
      $(errorEl).textContent = "The server could not be reached. Try again.";
    } finally {
      $(button).disabled = false;
    }
  });
}

if (location.pathname === "/verify-email") {
  wire("verify", "verify-form", "verify-button", "verify-error", async (token) => {
    const res = await post("/auth/email/verify", { token });
    if (res.ok) {
      const u = await res.json();
      return "Thank you: " + u.email + " is verified.";
    }
    $("verify-error").textContent = await detail(res);
    return "";
  });
} else {
  wire("reset", "reset-form", "reset-button", "reset-error", async (token) => {
    const pw = $("new-password").value;
    if (pw !== $("new-password-again").value) {
      $("reset-error").textContent = "The two passwords differ.";
      return "";
    }
    const res = await post("/auth/password/reset", { token, new_password: pw });
    if (res.status === 204) return "Your password is changed and every session has ended. Sign in with the new password.";
    $("reset-error").textContent = await detail(res);
    return "";
  });
}
