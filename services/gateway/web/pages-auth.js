// Signing up and in, the locked-account message, password reset, email verification,
// unlock requests from the lockout mail, and signing out.

import { call, signIn, signOut, upload } from "./api.js";
import { go } from "./nav.js";
import { drawBlob, field, form, h, link, say } from "./ui.js";

// Read a mail link's token once, then take it out of the address bar and the history entry,
// so that it is not left on screen, in a bookmark or in a shared screenshot.
// The router calls it first thing, before anything waits on the network.
let mailToken = null;

export function takeToken() {
  if (mailToken === null) {
    mailToken = new URLSearchParams(window.location.search).get("token") || "";
    if (window.location.search) {
      window.history.replaceState(null, "", window.location.pathname);
    }
  }
  return mailToken;
}

const PASSWORD_HINT = "At least 8 characters. A few unusual words make a strong password.";
export const ALIAS_HINT =
  "You may use an alias or a first name and last initial: TrackCC never needs a real name.";

function lockedMessage(result) {
  return h(
    "div",
    { id: "locked", class: "notice", role: "alert" },
    h("h2", { text: "This account is locked" }),
    h("p", { text: result.data && result.data.detail ? result.data.detail : "" }),
    h("p", {
      text:
        "After ten wrong passwords TrackCC locks the account to protect it. We sent a mail " +
        "to the account's address: follow its link to ask support to unlock it. A password " +
        "reset does not unlock the account.",
    }),
  );
}

export function signInPage(returnRoute) {
  const holder = h("div", { id: "sign-in-problem" });
  const signInForm = form(
    { id: "sign-in-form" },
    [
      field("Email", "email", { type: "email", autocomplete: "username", required: true }),
      field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
    ],
    "Sign in",
    async (values) => {
      holder.replaceChildren();
      const result = await signIn(values.email, values.password);
      if (result.status === 200) {
        go("#" + (returnRoute && returnRoute !== "/signin" ? returnRoute : "/"));
        return null;
      }
      if (result.status === 423) {
        holder.replaceChildren(lockedMessage(result));
        return null;
      }
      return result;
    },
    { fieldOf: { invalid_credentials: "password" } },
  );
  return [
    h("h1", { text: "Sign in to TrackCC" }),
    signInForm,
    holder,
    h(
      "p",
      {},
      link("/#/forgot", "Forgot your password?"),
      " · ",
      link("/#/signup", "Create an account"),
    ),
    h("p", { class: "hint", text: "You stay signed in on this browser until you sign out." }),
  ];
}

export function signUpPage() {
  const photoPreview = h("canvas", { class: "photo preview", width: "128", height: "128", hidden: true, role: "img", "aria-label": "Photo preview" });
  const signUpForm = form(
    { id: "sign-up-form" },
    [
      field("I am a", "role", { required: true }, {
        kind: "select",
        options: [
          ["teacher", "Teacher"],
          ["guardian", "Guardian"],
          ["student", "Student"],
        ],
      }),
      field("Display name", "display_name", { autocomplete: "nickname", maxlength: "100" }, { hint: ALIAS_HINT }),
      field("Email", "email", { type: "email", autocomplete: "email", required: true }),
      field("Password", "password", { type: "password", autocomplete: "new-password", required: true }, { hint: PASSWORD_HINT }),
      field("Birth date (optional)", "birth_date", { type: "date" }),
      field("Gender (optional)", "gender", { maxlength: "50" }, { hint: "In your own words, or leave it empty." }),
      field("Photo (optional)", "photo", { type: "file", accept: "image/jpeg,image/png,image/webp" }),
      photoPreview,
    ],
    "Create account",
    async (values) => {
      const body = { email: values.email, password: values.password, role: values.role };
      for (const name of ["display_name", "birth_date", "gender"]) {
        if (values[name]) {
          body[name] = values[name];
        }
      }
      const result = await call("POST", "/v1/accounts", body, { anonymous: true });
      if (result.status !== 201) {
        return result;
      }
      const signedIn = await signIn(values.email, values.password);
      if (signedIn.status !== 200) {
        go("#/signin");
        return null;
      }
      if (values.photo) {
        await upload("/v1/me/photo", values.photo, () => {});
      }
      go("#/");
      say("Welcome to TrackCC. We sent a link to " + values.email + " to confirm the address.");
      return null;
    },
    { fieldOf: { weak_password: "password", email_taken: "email" } },
  );
  signUpForm.querySelector('input[type="file"]').addEventListener("change", async (event) => {
    const file = event.target.files[0];
    photoPreview.hidden = !file;
    if (file) {
      await drawBlob(photoPreview, file);
    }
  });
  return [
    h("h1", { text: "Create your TrackCC account" }),
    signUpForm,
    h("p", {}, "Already have an account? ", link("/#/signin", "Sign in")),
  ];
}

export function forgotPage() {
  const done = h("p", { id: "forgot-done", role: "status" });
  return [
    h("h1", { text: "Forgot your password" }),
    h("p", { text: "We mail a link to set a new password. It works for one hour." }),
    form(
      { id: "forgot-form" },
      [field("Email", "email", { type: "email", autocomplete: "email", required: true })],
      "Send the link",
      async (values) => {
        const result = await call("POST", "/v1/password/forgot", { email: values.email }, { anonymous: true });
        if (result.status === 202) {
          done.textContent = "If an account uses that address, a mail with a link is on its way.";
          return null;
        }
        return result;
      },
    ),
    done,
    h("p", {}, link("/#/signin", "Back to sign in")),
  ];
}

export async function doSignOut(everywhere) {
  await signOut(everywhere);
  go("#/signin");
  say(everywhere ? "You are signed out on every device." : "You are signed out.");
}

function noToken(title) {
  return [
    h("h1", { text: title }),
    h("p", { class: "error", id: "link-problem", text: "This link has no token: open the link from the mail again." }),
  ];
}

export async function verifyPage() {
  const token = takeToken();
  if (!token) {
    return noToken("Confirm your email");
  }
  const result = await call("POST", "/v1/accounts/verify", { token }, { anonymous: true });
  if (result.status === 204) {
    say("Email confirmed", "ok");
  } else {
    say(result.data && result.data.detail ? result.data.detail : "The link did not work.", "error");
  }
  return [h("h1", { text: "Confirm your email" }), h("p", {}, link("/#/", "Go to TrackCC"))];
}

export function resetPage() {
  const token = takeToken();
  if (!token) {
    return noToken("Choose a new password");
  }
  const resetForm = form(
    { id: "reset-form" },
    [
      field("New password", "new_password", { id: "new-password", type: "password", autocomplete: "new-password", required: true }, { hint: PASSWORD_HINT }),
      field("New password again", "confirm", { id: "confirm-password", type: "password", autocomplete: "new-password", required: true }),
    ],
    "Set the new password",
    async (values) => {
      if (values.new_password !== values.confirm) {
        return { status: 422, data: { detail: "The two passwords do not match.", errors: [{ field: "confirm", message: "The two passwords do not match." }] } };
      }
      const result = await call("POST", "/v1/password/reset", { token, new_password: values.new_password }, { anonymous: true });
      if (result.status === 204) {
        resetForm.hidden = true;
        say("Password changed: sign in with your new password.", "ok");
        return null;
      }
      return result;
    },
    { fieldOf: { weak_password: "new_password" } },
  );
  return [
    h("h1", { text: "Choose a new password" }),
    resetForm,
    h("p", {}, link("/#/signin", "Sign in")),
  ];
}

export function unlockRequestPage() {
  const token = takeToken();
  if (!token) {
    return noToken("Ask support to unlock your account");
  }
  const button = h("button", { type: "button", id: "unlock-button", text: "Ask support to unlock my account" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    const result = await call("POST", "/v1/unlock-requests", { token }, { anonymous: true });
    if (result.status === 202) {
      button.hidden = true;
      say("Request recorded: support will contact you", "ok");
    } else {
      button.disabled = false;
      say(result.data && result.data.detail ? result.data.detail : "That did not work.", "error");
    }
  });
  return [
    h("h1", { text: "Ask support to unlock your account" }),
    h("p", { text: "Following this link proves that you read the account's mail. Support staff decide, and contact you at that address." }),
    button,
  ];
}
