// My account: profile, own photo, password, email change, sessions, export and deletion.

import { call, forget, listAll, updateAccount, upload } from "./api.js";
import { doSignOut } from "./pages-auth.js";
import { go } from "./nav.js";
import { confirmAction, drawBlob, field, form, h, link, picture, say, when } from "./ui.js";

function section(title, id, ...content) {
  return h("section", { "aria-labelledby": id }, h("h2", { id, text: title }), ...content);
}

function profileSection(me) {
  return section(
    "Profile",
    "profile-heading",
    h("p", { class: "meta", text: me.email + " · " + me.role + (me.email_verified ? " · email confirmed" : " · email not confirmed yet") }),
    form(
      { id: "profile-form" },
      [
        field("Display name", "display_name", { maxlength: "100" }, { value: me.display_name || "", hint: "An alias is fine." }),
        field("Birth date (optional)", "birth_date", { type: "date" }, { value: me.birth_date || "" }),
        field("Gender (optional)", "gender", { maxlength: "50" }, { value: me.gender || "" }),
      ],
      "Save profile",
      async (values) => {
        const body = {};
        for (const name of ["display_name", "birth_date", "gender"]) {
          body[name] = values[name] || null;
        }
        const result = await call("PATCH", "/v1/me", body);
        if (result.status === 200) {
          updateAccount(result.data);
          say("Profile saved.");
          return null;
        }
        return result;
      },
    ),
  );
}

function photoSection(me) {
  // Asked for even when photo_url is null: auth does not always know of the photo yet
  // (issue 11), and a missing one costs a single 404.
  const current = picture("/v1/me/photo?size=thumb", "Your photo", 128, "No photo yet");
  const progress = h("progress", { max: "1", value: "0", hidden: true, "aria-label": "Upload progress" });
  const photoForm = form(
    { id: "my-photo-form" },
    [field("Choose a photo", "photo", { type: "file", accept: "image/jpeg,image/png,image/webp", required: true }), progress],
    "Upload photo",
    async (values) => {
      if (!values.photo) {
        return { status: 422, data: { detail: "Choose a photo first.", errors: [{ field: "photo", message: "Choose a photo first." }] } };
      }
      progress.hidden = false;
      const result = await upload("/v1/me/photo", values.photo, (fraction) => {
        progress.value = fraction;
      });
      progress.value = 1;
      if (result.status === 200) {
        await drawBlob(current, values.photo);
        say("Photo saved.");
        return null;
      }
      progress.hidden = true;
      return result;
    },
    { fieldOf: { invalid_image: "photo", photo_too_large: "photo", unsupported_media_type: "photo" } },
  );
  const remove = h("button", {
    type: "button",
    class: "secondary",
    text: "Remove my photo",
    onclick: async () => {
      const result = await call("DELETE", "/v1/me/photo");
      say(result.status === 204 ? "Photo removed." : "There was no photo to remove.");
      go("#/account");
    },
  });
  return section("Your photo", "photo-heading", current, photoForm, remove);
}

function passwordSection() {
  return section(
    "Change password",
    "password-heading",
    h("p", { class: "hint", text: "Your other sessions end; this one stays signed in." }),
    form(
      { id: "password-form" },
      [
        field("Current password", "current_password", { type: "password", autocomplete: "current-password", required: true }),
        field("New password", "new_password", { type: "password", autocomplete: "new-password", required: true }, { hint: "At least 8 characters." }),
      ],
      "Change password",
      async (values, element) => {
        const result = await call("POST", "/v1/me/password", values);
        if (result.status === 204) {
          element.reset();
          say("Password changed. Your other sessions were signed out.");
          return null;
        }
        return result;
      },
      { fieldOf: { invalid_credentials: "current_password", weak_password: "new_password" } },
    ),
  );
}

function emailSection() {
  return section(
    "Change email",
    "email-heading",
    h("p", { class: "hint", text: "We send a link to the new address; the change happens when you open it." }),
    form(
      { id: "email-form" },
      [
        field("New email", "new_email", { type: "email", autocomplete: "email", required: true }),
        field("Your password", "password", { type: "password", autocomplete: "current-password", required: true }),
      ],
      "Change email",
      async (values, element) => {
        const result = await call("POST", "/v1/me/email", values);
        if (result.status === 202) {
          element.reset();
          say("Check the new address for a confirmation link.");
          return null;
        }
        return result;
      },
      { fieldOf: { invalid_credentials: "password", email_taken: "new_email" } },
    ),
  );
}

async function sessionsSection() {
  const result = await listAll("/v1/sessions");
  const rows = result.status === 200 ? result.data : [];
  return section(
    "Where you are signed in",
    "sessions-heading",
    h(
      "ul",
      { class: "list", id: "session-list" },
      rows.map((session) =>
        h(
          "li",
          {},
          h("span", { text: (session.user_agent || "Unknown device").slice(0, 80) }),
          h("span", { class: "meta", text: "last used " + when(session.last_used_at) + (session.current ? " · this browser" : "") }),
          session.current
            ? null
            : h("button", {
                type: "button",
                class: "secondary small",
                text: "Sign out there",
                "aria-label": "Sign out there: the session last used " + when(session.last_used_at),
                onclick: async () => {
                  await call("DELETE", "/v1/sessions/" + session.id);
                  go("#/account");
                  say("That session is signed out.");
                },
              }),
        ),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", id: "sign-out", text: "Sign out", onclick: () => doSignOut(false) }),
      h("button", { type: "button", class: "secondary", id: "sign-out-everywhere", text: "Sign out everywhere", onclick: () => doSignOut(true) }),
    ),
  );
}

function exportSection() {
  const holder = h("p", {});
  return section(
    "Export your data",
    "export-heading",
    h("p", { text: "One JSON file with everything your account owns or entered, photos included." }),
    h("button", {
      type: "button",
      id: "export-button",
      text: "Download my data",
      onclick: async () => {
        const result = await call("GET", "/v1/me/export", undefined, { blob: true });
        if (result.status !== 200) {
          say("The export failed; try again.", "error");
          return;
        }
        const url = URL.createObjectURL(result.data);
        const anchor = h("a", { href: url, download: "trackcc-export.json", id: "export-link", text: "Save trackcc-export.json" });
        holder.replaceChildren(anchor);
        anchor.click();
      },
    }),
    holder,
  );
}

function deleteSection() {
  return section(
    "Delete your account",
    "delete-heading",
    h("p", { text: "Your classes, students, photos and shares are erased, and you are signed out everywhere. Export your data first if you want to keep a copy." }),
    form(
      { id: "delete-account-form" },
      [field("Your password", "password", { type: "password", autocomplete: "current-password", required: true })],
      "Delete my account",
      async (values) => {
        if (!(await confirmAction("Delete your TrackCC account and everything in it? This cannot be undone.", "Delete my account"))) {
          return null;
        }
        const result = await call("DELETE", "/v1/me", { password: values.password });
        if (result.status === 202 || result.status === 204) {
          forget();
          go("#/deleted");
          return null;
        }
        return result;
      },
      { fieldOf: { invalid_credentials: "password" } },
    ),
  );
}

export async function accountPage() {
  const result = await call("GET", "/v1/me");
  if (result.status !== 200) {
    return [h("h1", { text: "My account" }), h("p", { class: "error", text: "Your account could not be loaded." })];
  }
  const me = result.data;
  updateAccount(me);
  return [
    h("h1", { text: "My account" }),
    profileSection(me),
    photoSection(me),
    passwordSection(),
    emailSection(),
    await sessionsSection(),
    exportSection(),
    deleteSection(),
  ];
}

export function deletedPage() {
  return [
    h("h1", { text: "Your account is deleted" }),
    h(
      "div",
      { id: "deletion-receipt" },
      h("p", { text: "You are signed out, and the account can no longer sign in." }),
      h("p", { text: "Everything it owned (classes, students, photos, invitations and shares) is erased from TrackCC within a minute. People you shared with lose access at once, and what others shared with you is no longer shared." }),
      h("p", { text: "TrackCC keeps no copy. If you downloaded an export, that file is now the only one." }),
    ),
    h("p", {}, link("/#/signup", "Create a new account")),
  ];
}
