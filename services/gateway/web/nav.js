// Moving between views. Kept apart from main.js so that pages can navigate without importing
// the router that imports them.

// Set while a page moves on by itself (after a save, say), so that the router keeps the
// message that page is about to show; a link the person follows clears old messages.
let moving = false;

export function go(hash) {
  moving = true;
  if (window.location.pathname !== "/") {
    window.location.assign("/" + hash);
  } else if (window.location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = hash;
  }
}

export function movedByPage() {
  const was = moving;
  moving = false;
  return was;
}
