// The web client for the links in TrackCC mails. One file for every page: <body data-page>
// says which page this is. No framework and no inline code, so the page's CSP can stay at
// script-src 'self'.
"use strict";

(function () {
  // Read the token once, then take it out of the address bar and the history entry, so that
  // it is not left on screen, in a bookmark or in a shared screenshot.
  const token = new URLSearchParams(window.location.search).get("token") || "";
  if (window.location.search) {
    window.history.replaceState(null, "", window.location.pathname);
  }

  const status = document.getElementById("status");

  function show(message, ok) {
    status.textContent = message;
    status.className = ok ? "ok" : "error";
  }

  function byId(id) {
    return document.getElementById(id);
  }

  // A problem+json body as one line: its detail, then the invalid fields' messages.
  function problemText(data, httpStatus) {
    if (!data || typeof data !== "object") {
      return "The request failed (HTTP " + httpStatus + ").";
    }
    const parts = [data.detail || data.title || "The request failed (HTTP " + httpStatus + ")."];
    if (Array.isArray(data.errors)) {
      for (const error of data.errors) {
        // A field's message often is the detail itself (weak_password): say it once.
        if (error && error.message && !parts.some((part) => part.includes(error.message))) {
          parts.push(error.message);
        }
      }
    }
    return parts.join(" ");
  }

  // POSTs JSON to the API. The bearer token only lives in this page's memory: never in
  // storage or cookies (credentials: "omit"), so it ends with the tab.
  async function post(path, body, bearer) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (bearer) {
      headers.Authorization = "Bearer " + bearer;
    }
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: headers,
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (error) {
      return { status: 0, data: { detail: "The server could not be reached; try again." } };
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = null;
      }
    }
    return { status: response.status, data: data };
  }

  function busy(elements, value) {
    for (const element of elements) {
      element.disabled = value;
    }
  }

  async function verifyPage() {
    const result = await post("/v1/accounts/verify", { token: token });
    byId("working").hidden = true;
    if (result.status === 204) {
      show("Email confirmed", true);
    } else {
      show(problemText(result.data, result.status), false);
    }
  }

  function resetPage() {
    const form = byId("reset-form");
    const password = byId("new-password");
    const confirm = byId("confirm-password");
    const button = form.querySelector("button");
    form.hidden = false;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (password.value !== confirm.value) {
        show("The two passwords do not match.", false);
        return;
      }
      busy([button], true);
      const result = await post("/v1/password/reset", {
        token: token,
        new_password: password.value,
      });
      if (result.status === 204) {
        form.hidden = true;
        password.value = "";
        confirm.value = "";
        show("Password changed: sign in with your new password.", true);
      } else {
        busy([button], false);
        show(problemText(result.data, result.status), false);
      }
    });
  }

  function unlockRequestPage() {
    const button = byId("unlock-button");
    byId("unlock").hidden = false;
    button.addEventListener("click", async function () {
      busy([button], true);
      const result = await post("/v1/unlock-requests", { token: token });
      if (result.status === 202) {
        byId("unlock").hidden = true;
        show("Request recorded: support will contact you", true);
      } else {
        busy([button], false);
        show(problemText(result.data, result.status), false);
      }
    });
  }

  function invitationPage() {
    const form = byId("sign-in-form");
    const email = byId("email");
    const password = byId("password");
    const signInButton = form.querySelector("button");
    const answer = byId("answer");
    const accept = byId("accept-button");
    const decline = byId("decline-button");
    let accessToken = "";
    form.hidden = false;

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      busy([signInButton], true);
      const result = await post("/v1/sessions", { email: email.value, password: password.value });
      busy([signInButton], false);
      if (result.status !== 200 || !result.data || !result.data.access_token) {
        show(problemText(result.data, result.status), false);
        return;
      }
      accessToken = result.data.access_token;
      password.value = "";
      form.hidden = true;
      answer.hidden = false;
      byId("signed-in").textContent = "Signed in as " + email.value + ".";
      show("", true);
    });

    async function respond(path, done, okStatus) {
      busy([accept, decline], true);
      const result = await post(path, { token: token }, accessToken);
      if (result.status === okStatus) {
        answer.hidden = true;
        show(done, true);
      } else {
        // An expired, revoked or used invitation (410) or another account's (403) stays so.
        busy([accept, decline], result.status === 410 || result.status === 403);
        show(problemText(result.data, result.status), false);
      }
    }

    accept.addEventListener("click", function () {
      respond("/v1/invitations/accept", "Invitation accepted: the roster is shared with you.", 200);
    });
    decline.addEventListener("click", function () {
      respond("/v1/invitations/decline", "Invitation declined.", 204);
    });
  }

  const pages = {
    verify: verifyPage,
    reset: resetPage,
    "unlock-request": unlockRequestPage,
    invitation: invitationPage,
  };

  const page = pages[document.body.dataset.page];
  if (!token) {
    show("This link has no token: open the link from the mail again.", false);
    const working = byId("working");
    if (working) {
      working.hidden = true;
    }
  } else if (page) {
    page();
  }
})();
