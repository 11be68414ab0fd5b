// The TrackCC API as the pages use it. The access token lives only in this module's memory:
// never in storage, so it ends with the tab. The refresh token is the HttpOnly cookie
// trackcc_refresh, which no script can read; the gateway rotates it on every refresh.

let session = null; // { token, expiresAt, account }
const listeners = new Set();

export function account() {
  return session ? session.account : null;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

function setSession(tokens) {
  session = tokens
    ? {
        token: tokens.access_token,
        // Refresh a little early: the clock of this machine and the server's may differ.
        expiresAt: Date.now() + Math.max(5, tokens.expires_in - 30) * 1000,
        account: tokens.account,
      }
    : null;
  for (const listener of listeners) {
    listener(session ? session.account : null);
  }
}

export function updateAccount(value) {
  if (session) {
    session.account = value;
  }
}

async function readBody(response) {
  const text = await response.text();
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    return null;
  }
}

const OFFLINE = { detail: "The server could not be reached; check the connection and try again." };

let refreshing = null;

// One refresh at a time across every tab of this browser (Web Locks): the cookie is
// single-use, so a second tab that sent the same cookie would look like a stolen token.
// A tab that waited uses the cookie that the other tab left behind. Within a tab, calls that
// need a refresh at the same moment share one.
export function refresh() {
  if (!refreshing) {
    refreshing = refreshAcrossTabs().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function refreshAcrossTabs() {
  const run = async () => {
    let response;
    try {
      response = await fetch("/v1/sessions/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: "{}",
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      return false;
    }
    const data = await readBody(response);
    if (response.status === 200 && data && data.access_token) {
      setSession(data);
      return true;
    }
    if (response.status === 401) {
      setSession(null);
    }
    return false;
  };
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request("trackcc-refresh", run);
  }
  return run();
}

async function bearer() {
  if (session && Date.now() >= session.expiresAt) {
    await refresh();
  }
  return session ? session.token : null;
}

// A JSON call. Answers { status, data } and never throws; data is the problem on errors.
export async function call(method, path, body, options = {}) {
  const send = async () => {
    const headers = { Accept: "application/json" };
    const token = options.anonymous ? null : await bearer();
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    let payload;
    if (options.raw) {
      payload = options.raw;
      headers["Content-Type"] = options.contentType;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, {
      method,
      headers,
      body: payload,
      credentials: "same-origin",
      cache: "no-store",
    });
    return response;
  };
  let response;
  try {
    response = await send();
    if (response.status === 401 && session && !options.anonymous) {
      // The token may have expired or been revoked in between: one refresh, one retry.
      if (await refresh()) {
        response = await send();
      }
    }
  } catch (error) {
    return { status: 0, data: OFFLINE };
  }
  if (options.blob && response.ok) {
    return { status: response.status, data: await response.blob() };
  }
  return { status: response.status, data: await readBody(response) };
}

export async function signIn(email, password) {
  const result = await call(
    "POST",
    "/v1/sessions",
    { email, password, refresh_cookie: true },
    { anonymous: true },
  );
  if (result.status === 200) {
    setSession(result.data);
  }
  return result;
}

export async function signOut(everywhere) {
  const result = await call("DELETE", everywhere ? "/v1/sessions" : "/v1/sessions/current");
  setSession(null);
  return result;
}

export function forget() {
  setSession(null);
}

// An upload with progress, which fetch cannot report: XMLHttpRequest does.
export async function upload(path, file, onProgress) {
  const token = await bearer();
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("PUT", path);
    request.setRequestHeader("Content-Type", file.type);
    request.setRequestHeader("Accept", "application/json");
    if (token) {
      request.setRequestHeader("Authorization", "Bearer " + token);
    }
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        onProgress(event.loaded / event.total);
      }
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch (error) {
        data = null;
      }
      resolve({ status: request.status, data });
    });
    request.addEventListener("error", () => resolve({ status: 0, data: OFFLINE }));
    request.send(file);
  });
}

// All pages of a list (the pages show whole lists; 200 is the API's largest page).
export async function listAll(path) {
  const items = [];
  let token = "";
  for (let guard = 0; guard < 50; guard += 1) {
    const separator = path.includes("?") ? "&" : "?";
    const url = path + separator + "page_size=200" + (token ? "&page_token=" + encodeURIComponent(token) : "");
    const result = await call("GET", url);
    if (result.status !== 200) {
      return result;
    }
    items.push(...result.data.items);
    token = result.data.next_page_token;
    if (!token) {
      break;
    }
  }
  return { status: 200, data: items };
}
