// The demo page's script: no framework, no build step, nothing fetched from elsewhere.
"use strict";

const CSRF_COOKIE = "browser_csrf";

function $(selector) { return document.querySelector(selector); }

function log(text) {
  const line = new Date().toLocaleTimeString() + "  " + text + "\n";
  $("#log").textContent = line + $("#log").textContent;
}

// The token's CSRF value, from the one cookie this script can read.
function csrfValue() {
  for (const part of document.cookie.split("; ")) {
    const [name, ...rest] = part.split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}

function form(fields) { return new URLSearchParams(fields); }

// A call to the API with the cookies and the CSRF header; when the access token has expired
// (401), refresh silently once through the refresh cookie and try again.
async function api(path, options = {}, retried = false) {
  const response = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { "X-CSRF-Token": csrfValue(), ...(options.headers || {}) },
  });
  if (response.status === 401 && !retried) {
    const refreshed = await fetch("/demo/refresh", {
      method: "POST", credentials: "same-origin", body: form({ grant_type: "refresh_token" }),
      headers: { "X-CSRF-Token": csrfValue() },
    });
    if (refreshed.ok) {
      log("the access token had expired: refreshed silently");
      return api(path, options, true);
    }
    log("refresh refused (" + refreshed.status + "): sign in again");
    showSignedOut();
  }
  return response;
}

function showSignedIn(user) {
  $("#signin").hidden = true;
  $("#account").hidden = false;
  $("#status").textContent = "Signed in as " + user + ".";
}

function showSignedOut() {
  $("#signin").hidden = false;
  $("#account").hidden = true;
  $("#me").textContent = "";
  $("#notes").replaceChildren();
}

function showNotes(notes) {
  $("#notes").replaceChildren(...notes.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
}

async function signIn(event) {
  event.preventDefault();
  const response = await fetch("/demo/login", {
    method: "POST", credentials: "same-origin",
    body: form({ username: $("#username").value, password: $("#password").value }),
  });
  if (!response.ok) {
    log("sign-in refused (" + response.status + ")");
    return;
  }
  const body = await response.json();
  log("signed in; the answer holds no token: " + Object.keys(body).join(", "));
  showSignedIn($("#username").value);
  await loadNotes();
}

async function whoAmI() {
  const response = await api("/demo/api/me");
  if (response.ok) {
    const body = await response.json();
    $("#me").textContent = body.user + " (config " + body.config + ")";
    log("GET /demo/api/me: " + response.status);
  }
}

async function loadNotes() {
  const response = await api("/demo/api/notes");
  if (response.ok) showNotes((await response.json()).notes);
}

async function addNote(event) {
  event.preventDefault();
  const response = await api("/demo/api/notes", { method: "POST", body: form({ text: $("#note").value }) });
  log("POST /demo/api/notes: " + response.status);
  if (response.ok) {
    showNotes((await response.json()).notes);
    $("#note").value = "";
  }
}

async function signOut() {
  const response = await api("/demo/logout", { method: "POST" }, true);
  const revoked = response.ok && (await response.json()).revoked;
  log("signed out (" + response.status + "): the cookies are cleared" +
      (revoked ? " and the session revoked" : "; there was no session left to revoke"));
  showSignedOut();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#login").addEventListener("submit", signIn);
  $("#whoami").addEventListener("click", whoAmI);
  $("#note-form").addEventListener("submit", addNote);
  $("#signout").addEventListener("click", signOut);
  if (csrfValue()) {  // signed in already (the CSRF cookie outlives a page load)
    const response = await api("/demo/api/me");
    if (response.ok) {
      showSignedIn((await response.json()).user);
      await loadNotes();
    }
  }
});
