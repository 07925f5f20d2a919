// The one module that speaks to gatehouse's API: the member's JWT on every request, FeatBit's
// envelope unwrapped, failures as ApiError, and a 401 announced once as the end of the session.

const base = '/api/v1';
const sessionKey = 'gatehouse.jwt';

/** A refused or failed call: HTTP status, the envelope's error codes and its data. */
export class ApiError extends Error {
  constructor(status, errors, data) {
    super(errors.length > 0 ? errors.join('/') : `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
    this.data = data;
  }
}

export const session = {
  token: () => sessionStorage.getItem(sessionKey),
  start(jwt) {
    sessionStorage.setItem(sessionKey, jwt);
  },
  end() {
    sessionStorage.removeItem(sessionKey);
  },
  /** The member id (`sub`) of the JWT; display only, the server verifies. */
  memberId() {
    const claims = decodeClaims(this.token());
    return typeof claims?.sub === 'string' ? claims.sub : null;
  },
};

function decodeClaims(jwt) {
  const part = jwt?.split('.')[1];
  if (!part) return null;
  try {
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

const sessionEnded = new EventTarget();
/** `listener` runs when a call answers 401 (expired or unknown credential). */
export function onSessionEnded(listener) {
  sessionEnded.addEventListener('ended', listener);
}

/**
 * Calls `method path` with `body` and answers the envelope's data. The body goes as JSON, or as
 * it is when `text` is set (a policy's text, sent as the author wrote it). `ifMatch` is a
 * policy version: a write made against an older one is refused (409 Conflict).
 */
export async function call(method, path, body, {text = false, ifMatch = null} = {}) {
  const headers = {Accept: 'application/json'};
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch !== null) headers['If-Match'] = `"${ifMatch}"`;
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : (text ? body : JSON.stringify(body)),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, ['NetworkError'], null);
  }
  let envelope = null;
  try {
    envelope = await response.json();
  } catch {
    // A proxy's HTML error page, say: the status alone speaks.
  }
  if (response.status === 401) sessionEnded.dispatchEvent(new Event('ended'));
  if (!response.ok || envelope?.success !== true) {
    const errors = Array.isArray(envelope?.errors) ? envelope.errors.map(String) : [];
    throw new ApiError(response.status, errors, envelope?.data ?? null);
  }
  return envelope.data;
}

/** A query string from an object, leaving out empty values. */
export function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The server's batch decision: one boolean per [action, resource], in order. */
export async function allowed(checks) {
  const data = await call('POST', '/decisions', {
    checks: checks.map(([action, resource]) => ({action, resource})),
  });
  return data.results.map((r) => r.allowed === true);
}
