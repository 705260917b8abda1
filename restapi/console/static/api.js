// The CallAPI as the console uses it: the token (in this tab's
// sessionStorage), requests with problem+json errors as ApiError, and the
// token endpoint. Every URL is relative to the page (/console), so the
// console works behind a proxy that mounts the gateway under a prefix.

const KEY = "callgw.console.token";
export const base = new URL("./", document.baseURI);

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || "";
  }
}

export function token() { return sessionStorage.getItem(KEY) || ""; }
export function setToken(t) { t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY); }

// claims reads a JWT's payload (for display only: the gateway checks it).
// A token that is not a JWT gives {} (auth may be off: any token works).
export function claims(t = token()) {
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
  } catch {
    return {};
  }
}

async function problemOf(resp) {
  try { return await resp.json(); } catch { return null; }
}

// signIn asks the token endpoint for a client-credentials token.
export async function signIn(id, secret) {
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret });
  const resp = await fetch(new URL("oauth/token", base), { method: "POST", body });
  if (resp.status === 404) {
    // Authentication is off on this gateway: every request acts for the
    // default tenant, and any token will do.
    return "dev";
  }
  if (!resp.ok) throw new ApiError(resp.status, await problemOf(resp));
  return (await resp.json()).access_token;
}

// request calls the API; a 401 fires onUnauthorized (the page signs out).
export let onUnauthorized = () => {};
export function setOnUnauthorized(f) { onUnauthorized = f; }

export async function request(method, path, body, headers = {}) {
  const h = { ...headers };
  const t = token();
  if (t && t !== "dev") h.Authorization = "Bearer " + t;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const resp = await fetch(new URL(path.replace(/^\//, ""), base), {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401) onUnauthorized();
  if (!resp.ok) throw new ApiError(resp.status, await problemOf(resp));
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  return type.includes("json") ? resp.json() : null;
}

export const callPath = (id) => "v1/calls/" + encodeURIComponent(id);

// streamURL is the SSE URL (EventSource cannot send headers: the token
// goes in the query, which the event routes accept).
export function streamURL(params) {
  const u = new URL("v1/events", base);
  const t = token();
  if (t && t !== "dev") u.searchParams.set("access_token", t);
  for (const [k, v] of Object.entries(params)) if (v) u.searchParams.set(k, v);
  return u.toString();
}
