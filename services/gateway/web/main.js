// The TrackCC web client: one page, many views. Mail links open real paths (/verify,
// /reset, /invitations/accept, /unlock-request); every other view is a hash route
// (/#/classes/ID), so the gateway serves one document and never maps a URL to a file.

import { account, onSessionChange, refresh } from "./api.js";
import { movedByPage } from "./nav.js";
import { h, say } from "./ui.js";
import * as auth from "./pages-auth.js";
import * as roster from "./pages-roster.js";
import * as sharing from "./pages-sharing.js";
import * as mine from "./pages-account.js";
import * as support from "./pages-support.js";

const MAIL_PAGES = {
  "/verify": auth.verifyPage,
  "/reset": auth.resetPage,
  "/unlock-request": auth.unlockRequestPage,
  "/invitations/accept": sharing.acceptPage,
};

// [pattern, view, needs a signed-in account]
const ROUTES = [
  [/^\/?$/, home, false],
  [/^\/signin$/, auth.signInPage, false],
  [/^\/signup$/, auth.signUpPage, false],
  [/^\/forgot$/, auth.forgotPage, false],
  [/^\/deleted$/, mine.deletedPage, false],
  [/^\/classes$/, roster.classesPage, true],
  [/^\/classes\/([\w-]+)$/, roster.classPage, true],
  [/^\/students$/, roster.studentsPage, true],
  [/^\/students\/([\w-]+)$/, roster.studentPage, true],
  [/^\/(classes|students)\/([\w-]+)\/sharing$/, sharing.sharingPage, true],
  [/^\/shared$/, sharing.sharedWithMePage, true],
  [/^\/invitations$/, sharing.invitationsPage, true],
  [/^\/account$/, mine.accountPage, true],
  [/^\/support$/, support.supportPage, true],
];

const view = () => document.getElementById("view");

function home() {
  const me = account();
  if (!me) {
    return auth.signInPage();
  }
  const links = [
    ["/#/classes", "Classes", "Your classes and the students in them."],
    ["/#/students", "Students", "Everyone in your roster, with photos."],
    ["/#/shared", "Shared with me", "Classes and students that others shared with you."],
    ["/#/invitations", "Invitations", "Invitations you sent and received."],
    ["/#/account", "My account", "Profile, password, sessions, export and deletion."],
  ];
  if (me.role === "support") {
    links.push(["/#/support", "Support", "Locked accounts and unlock requests."]);
  }
  return [
    h("h1", { text: "Hello, " + (me.display_name || me.email) }),
    me.email_verified
      ? null
      : h("p", { class: "notice", text: "Confirm your email with the link we sent to " + me.email + "." }),
    h(
      "ul",
      { class: "cards" },
      links.map(([href, title, text]) =>
        h("li", {}, h("a", { href }, h("strong", { text: title }), h("span", { text }))),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", id: "sign-out", text: "Sign out", onclick: () => auth.doSignOut(false) }),
    ),
  ];
}

function updateNav(me) {
  document.getElementById("nav").hidden = !me;
  document.getElementById("nav-support").hidden = !me || me.role !== "support";
}

let rendering = 0;

export async function render() {
  const current = ++rendering;
  const path = window.location.pathname;
  let content;
  if (MAIL_PAGES[path] && !window.location.hash) {
    content = await MAIL_PAGES[path]();
  } else {
    const route = window.location.hash.replace(/^#/, "") || "/";
    const found = ROUTES.find(([pattern]) => pattern.test(route));
    if (!found) {
      content = [h("h1", { text: "Page not found" }), h("p", {}, h("a", { href: "/#/", text: "Go to the home page" }))];
    } else {
      const [pattern, page, needsAccount] = found;
      if (needsAccount && !account()) {
        content = auth.signInPage(route);
      } else {
        content = await page(...route.match(pattern).slice(1));
      }
    }
  }
  if (current !== rendering) {
    return; // a newer navigation won
  }
  view().replaceChildren(...[content].flat().filter(Boolean));
  const heading = view().querySelector("h1");
  document.title = (heading ? heading.textContent + " · " : "") + "TrackCC";
}

window.addEventListener("hashchange", () => {
  if (!movedByPage()) {
    say("");
  }
  render().then(() => document.getElementById("main").focus({ preventScroll: true }));
});
let started = false;
onSessionChange((me) => {
  updateNav(me);
  // Signed out elsewhere (sign out everywhere, a revoked session): show the sign-in form
  // instead of a page whose data can no longer load.
  if (!me && started) {
    render();
  }
});

// A new tab or a restarted browser: the refresh cookie (if any) signs this page in.
async function start() {
  const path = window.location.pathname;
  if (MAIL_PAGES[path]) {
    auth.takeToken();
  }
  if (!MAIL_PAGES[path] || path === "/invitations/accept") {
    await refresh();
  }
  updateNav(account());
  started = true;
  await render();
}

start();
