// Support staff: locked accounts, open unlock requests, and unlocking with a reason (which
// the audit log keeps).

import { account, call, listAll } from "./api.js";
import { go } from "./nav.js";
import { field, form, h, say, when } from "./ui.js";

function unlockForm(target) {
  return form(
    { class: "unlock-form", "data-email": target.email },
    [field("Reason for unlocking " + target.email, "reason", { required: true, maxlength: "500" }, { hint: "For example: owner confirmed by mail." })],
    "Unlock",
    async (values) => {
      const result = await call("POST", "/v1/admin/accounts/" + target.id + "/unlock", { reason: values.reason });
      if (result.status === 204) {
        go("#/support");
        say(target.email + " is unlocked.");
        return null;
      }
      return result;
    },
  );
}

export async function supportPage() {
  const me = account();
  if (me.role !== "support") {
    return [h("h1", { text: "Support" }), h("p", { text: "Only support staff see this page." })];
  }
  const [locked, requests] = await Promise.all([listAll("/v1/admin/accounts?locked=true"), listAll("/v1/admin/unlock-requests")]);
  const lockedRows = locked.status === 200 ? locked.data : [];
  const requestRows = requests.status === 200 ? requests.data : [];
  const asked = new Set(requestRows.map((r) => r.account_id));
  return [
    h("h1", { text: "Support" }),
    h("h2", { text: "Unlock requests" }),
    requestRows.length
      ? h("ul", { class: "list", id: "unlock-requests" }, requestRows.map((r) => h("li", {}, h("span", { text: r.email }), h("span", { class: "meta", text: "asked " + when(r.requested_at) }))))
      : h("p", { text: "No open requests." }),
    h("h2", { text: "Locked accounts" }),
    lockedRows.length
      ? h(
          "ul",
          { class: "list stacked", id: "locked-accounts" },
          lockedRows.map((target) =>
            h(
              "li",
              {},
              h("strong", { text: target.email }),
              h("span", { class: "meta", text: "locked " + when(target.locked_at) + " after " + target.failed_attempts + " failures" + (asked.has(target.id) ? " · owner asked to unlock" : "") }),
              unlockForm(target),
            ),
          ),
        )
      : h("p", { text: "No locked accounts." }),
  ];
}
