// Moving between views. Kept apart from main.js so that pages can navigate without importing
// the router that imports them.
export function go(hash) {
  if (window.location.pathname !== "/") {
    window.location.assign("/" + hash);
  } else if (window.location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = hash;
  }
}
