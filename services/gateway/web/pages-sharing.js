// Sharing: invitations (send, resend, revoke, accept or decline from the mail link), who has
// access and revoking it, the access log, and what others shared with me.

import { account, call, listAll, signIn, signOut } from "./api.js";
import { takeToken } from "./pages-auth.js";
import { go } from "./nav.js";
import { confirmAction, field, form, h, link, say, when } from "./ui.js";

const ROLES = [
  ["guardian", "Guardian"],
  ["advisor", "Advisor"],
  ["student", "Student"],
  ["teacher", "Teacher"],
];
const RELATIONS = [
  ["viewer", "Can view"],
  ["editor", "Can edit"],
];

function table(caption, headings, rows, attributes = {}) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      attributes,
      h("caption", { text: caption }),
      h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col", text })))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
    ),
  );
}

function button(text, label, onclick, kind = "secondary small") {
  return h("button", { type: "button", class: kind, text, "aria-label": label, onclick });
}

export async function sharingPage(type, id) {
  const base = "/v1/" + type + "/" + id;
  const [resource, grants, sent, log] = await Promise.all([
    call("GET", base),
    listAll(base + "/grants"),
    listAll("/v1/invitations?direction=sent"),
    listAll(base + "/access-log"),
  ]);
  if (resource.status !== 200 || grants.status !== 200) {
    return [h("h1", { text: "Sharing" }), h("p", { class: "error", text: "Only the owner sees who has access." })];
  }
  const name = resource.data.name || resource.data.display_name;
  const back = "#/" + type + "/" + id + "/sharing";
  const pending = (sent.status === 200 ? sent.data : []).filter((i) => i.resource_id === id && i.status === "pending");
  return [
    h("p", { class: "crumbs" }, link("/#/" + type + "/" + id, name)),
    h("h1", { text: "Sharing " + name }),
    h("h2", { text: "Invite someone" }),
    h("p", { class: "hint", text: "They get a mail with a link. Nothing is shared until they accept." }),
    form(
      { id: "invite-form" },
      [
        field("Their email", "email", { type: "email", autocomplete: "off", required: true }),
        field("They may", "relation", {}, { kind: "select", options: RELATIONS }),
        field("Their role", "role", {}, { kind: "select", options: ROLES }),
        field("Message (optional)", "message", { maxlength: "500" }, { kind: "textarea" }),
        field("Access ends on (optional)", "grant_expires_at", { type: "date" }, { hint: "For example the end of term. Leave empty to share until you revoke." }),
      ],
      "Send invitation",
      async (values) => {
        const body = { email: values.email, relation: values.relation, role: values.role };
        if (values.message) {
          body.message = values.message;
        }
        if (values.grant_expires_at) {
          body.grant_expires_at = values.grant_expires_at + "T23:59:59Z";
        }
        const result = await call("POST", base + "/invitations", body);
        if (result.status === 201) {
          go(back);
          say("Invitation sent to " + values.email + ".");
          return null;
        }
        return result;
      },
      { fieldOf: { already_shared: "email" } },
    ),
    h("h2", { text: "Who has access" }),
    grants.data.length
      ? table(
          "People this is shared with",
          ["Email", "Access", "Role", "Since", "Ends", ""],
          grants.data.map((grant) => [
            grant.grantee_email,
            grant.relation,
            grant.role,
            when(grant.created_at),
            when(grant.expires_at),
            button("Revoke", "Revoke access of " + grant.grantee_email, async () => {
              if (!(await confirmAction("Revoke the access of " + grant.grantee_email + "?", "Revoke"))) {
                return;
              }
              const result = await call("DELETE", "/v1/grants/" + grant.id);
              go(back);
              say(result.status === 204 ? "Access revoked." : "Revoking failed.", result.status === 204 ? "ok" : "error");
            }),
          ]),
          { id: "grants" },
        )
      : h("p", { id: "grants-empty", text: "Only you." }),
    h("h2", { text: "Pending invitations" }),
    pending.length
      ? table(
          "Invitations not answered yet",
          ["Email", "Access", "Role", "Expires", ""],
          pending.map((invitation) => [
            invitation.email,
            invitation.relation,
            invitation.role,
            when(invitation.expires_at),
            h(
              "span",
              { class: "row-actions" },
              button("Resend", "Resend the invitation to " + invitation.email, async () => {
                const result = await call("POST", "/v1/invitations/" + invitation.id + "/resend");
                say(result.status === 202 ? "Sent again; the earlier link no longer works." : "Resending failed.", result.status === 202 ? "ok" : "error");
              }),
              button("Revoke", "Revoke the invitation to " + invitation.email, async () => {
                const result = await call("DELETE", "/v1/invitations/" + invitation.id);
                go(back);
                say(result.status === 204 ? "Invitation revoked." : "Revoking failed.", result.status === 204 ? "ok" : "error");
              }),
            ),
          ]),
          { id: "pending-invitations" },
        )
      : h("p", { text: "None." }),
    h("h2", { text: "Access log" }),
    h("p", { class: "hint", text: "Every view or change by someone else, newest first." }),
    log.status === 200 && log.data.length
      ? table(
          "Access log",
          ["When", "Who", "What"],
          log.data.map((entry) => [when(entry.at), entry.actor_email || "—", entry.action]),
          { id: "access-log" },
        )
      : h("p", { text: "Nobody else has opened it yet." }),
  ];
}

export async function sharedWithMePage() {
  const [shared, classes, students] = await Promise.all([
    listAll("/v1/shared-with-me"),
    listAll("/v1/classes"),
    listAll("/v1/students"),
  ]);
  if (shared.status !== 200) {
    return [h("h1", { text: "Shared with me" }), h("p", { class: "error", text: "The list could not be loaded." })];
  }
  const names = new Map();
  for (const item of classes.status === 200 ? classes.data : []) {
    names.set(item.id, item.name);
  }
  for (const item of students.status === 200 ? students.data : []) {
    names.set(item.id, item.display_name);
  }
  return [
    h("h1", { text: "Shared with me" }),
    shared.data.length
      ? h(
          "ul",
          { class: "list", id: "shared-list" },
          shared.data.map((item) => {
            const path = (item.resource_type === "class" ? "classes" : "students") + "/" + item.resource_id;
            const name = names.get(item.resource_id) || "A " + item.resource_type;
            return h(
              "li",
              {},
              link("/#/" + path, name),
              h("span", { class: "meta", text: item.resource_type + " from " + (item.owner_display_name || "its owner") + " · you " + (item.relation === "editor" ? "can edit" : "can view") }),
              item.grant_id
                ? button("Leave", "Leave " + name + " (stop seeing it)", async () => {
                    if (!(await confirmAction("Stop seeing " + name + "?", "Leave"))) {
                      return;
                    }
                    await call("DELETE", "/v1/grants/" + item.grant_id);
                    go("#/shared");
                  })
                : null,
            );
          }),
        )
      : h("p", { text: "Nothing is shared with you yet. When someone invites you, open the link in their mail." }),
  ];
}

export async function invitationsPage() {
  const [received, sent] = await Promise.all([listAll("/v1/invitations?direction=received"), listAll("/v1/invitations?direction=sent")]);
  const rows = (result) => (result.status === 200 ? result.data : []);
  return [
    h("h1", { text: "Invitations" }),
    h("h2", { text: "Received" }),
    rows(received).length
      ? table("Invitations to you", ["What", "Access", "Status", "Expires"], rows(received).map((i) => [i.resource_type, i.relation, i.status, when(i.expires_at)]))
      : h("p", { text: "None." }),
    h("p", { class: "hint", text: "To accept or decline, open the link in the invitation mail." }),
    h("h2", { text: "Sent" }),
    rows(sent).length
      ? table(
          "Invitations you sent",
          ["To", "Access", "Role", "Status", ""],
          rows(sent).map((i) => [
            i.email,
            i.relation,
            i.role,
            i.status,
            link("/#/" + (i.resource_type === "class" ? "classes" : "students") + "/" + i.resource_id + "/sharing", "Manage"),
          ]),
        )
      : h("p", { text: "None." }),
  ];
}

export function acceptPage() {
  const token = takeToken();
  const heading = h("h1", { text: "Invitation to share a roster" });
  if (!token) {
    return [heading, h("p", { class: "error", id: "link-problem", text: "This link has no token: open the link from the mail again." })];
  }
  const answer = h("div", { id: "answer" });
  const respond = async (path, okStatus, done) => {
    for (const control of answer.querySelectorAll("button")) {
      control.disabled = true;
    }
    const result = await call("POST", path, { token });
    if (result.status === okStatus) {
      answer.replaceChildren(h("p", { text: done }), h("p", {}, link("/#/shared", "See what is shared with you")));
      say(done);
    } else {
      // An expired, revoked or used invitation (410) or another account's (403) stays so.
      const final = result.status === 410 || result.status === 403;
      for (const control of answer.querySelectorAll("button")) {
        control.disabled = final;
      }
      say((result.data && result.data.detail) || "That did not work.", "error");
    }
  };
  const showAnswer = () => {
    const me = account();
    answer.replaceChildren(
      h("p", { id: "signed-in", text: "Signed in as " + me.email + "." }),
      h("p", { class: "hint" }, "Not the address the invitation went to? ", h("button", {
        type: "button",
        class: "secondary small",
        text: "Sign out",
        onclick: async () => {
          await signOut(false);
          answer.replaceChildren();
          signInForm.hidden = false;
        },
      })),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", id: "accept-button", text: "Accept", onclick: () => respond("/v1/invitations/accept", 200, "Invitation accepted: the roster is shared with you.") }),
        h("button", { type: "button", id: "decline-button", class: "secondary", text: "Decline", onclick: () => respond("/v1/invitations/decline", 204, "Invitation declined.") }),
      ),
    );
  };
  const signInForm = form(
    { id: "sign-in-form" },
    [
      field("Email", "email", { id: "email", type: "email", autocomplete: "username", required: true }),
      field("Password", "password", { id: "password", type: "password", autocomplete: "current-password", required: true }),
    ],
    "Sign in",
    async (values) => {
      const result = await signIn(values.email, values.password);
      if (result.status !== 200) {
        return result;
      }
      signInForm.hidden = true;
      showAnswer();
      return null;
    },
    { fieldOf: { invalid_credentials: "password" } },
  );
  signInForm.prepend(h("p", { text: "Sign in with the account the invitation was sent to." }));
  if (account()) {
    signInForm.hidden = true;
    showAnswer();
  }
  return [
    heading,
    signInForm,
    answer,
    h("p", { class: "hint" }, "No account yet? ", link("/#/signup", "Create one"), ", confirm it, then open the link in the invitation mail again."),
  ];
}
