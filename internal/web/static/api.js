// @ts-check
// Client of the calls API (docs/API.md): a session opened with this
// browser's device credential, then calls, transitions, history and the
// iCalendar export with its bearer token.
//
// The token lives in this object only (memory): never in storage, never in
// a URL. When the server forgets it (restart, expiry: 401) the client signs
// in again once and repeats the request.

import * as b64u from './e2ee/b64u.js';
import { serverURL } from './endpoint.js';
import { NONCE_SIZE } from './e2ee/trust.js';
import { sessionProof } from './e2ee/session-proof.js';

/** A refusal of the server: its HTTP status and its {"error"} text. */
export class ApiError extends Error {
  /** @param {number} status 0 when the server could not be reached @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * The device that signs in: its credential, line and signing key (from
 * e2ee/identity.js).
 * @typedef {{credential: {body: string, sig: string}, line: string, sigPrivate: CryptoKey}} Device
 */

/**
 * The session as the server answers POST/GET /api/session.
 * @typedef {{expires: number, line: string, side: string, name: string, roles: string[], device: string}} Session
 */

/**
 * One HTTP exchange. Resolves with the decoded JSON (or the Blob, with
 * asBlob) of a 2xx answer, undefined for 204; rejects with an ApiError.
 * @param {string} method
 * @param {string} path
 * @param {{body?: unknown, token?: string, asBlob?: boolean}} [opts]
 * @returns {Promise<any>}
 */
async function exchange(method, path, { body, token, asBlob } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  /** @type {Response} */
  let res;
  try {
    res = await fetch(serverURL(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, 'Could not reach the server. Check the network; the page keeps trying.');
  }
  if (res.ok && res.status === 204) return undefined;
  if (res.ok && asBlob) return res.blob();
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const said = typeof data?.error === 'string' && data.error ? data.error : res.statusText || 'no reason given';
    throw new ApiError(res.status, said);
  }
  if (data === null || typeof data !== 'object') throw new ApiError(res.status, "The server's answer could not be read.");
  return data;
}

export class CallsApi {
  /** @type {string} the bearer token, in memory only */
  #token = '';
  /** @type {Promise<Session>|null} a sign-in under way, shared by concurrent requests */
  #signing = null;

  /** @param {Device} device */
  constructor(device) {
    this.device = device;
    this.line = device.line;
    /** @type {Session|null} */
    this.session = null;
  }

  /**
   * Opens a session: a fresh challenge, signed with the device key.
   * @returns {Promise<Session>}
   */
  signIn() {
    this.#signing ??= this.#open().finally(() => {
      this.#signing = null;
    });
    return this.#signing;
  }

  async #open() {
    this.#token = '';
    const ch = await exchange('POST', '/api/session/challenge');
    const nonce = b64u.decodeLen(String(ch.nonce), NONCE_SIZE);
    const proof = await sessionProof(this.device.sigPrivate, nonce, new URL(serverURL('/api/session'), location.href).host, this.line);
    const s = await exchange('POST', '/api/session', { body: { line: this.line, credential: this.device.credential, nonce: ch.nonce, proof } });
    if (typeof s.token !== 'string' || !s.token) throw new ApiError(200, "The server's session answer has no token.");
    this.#token = s.token;
    const { token: _, ...session } = s;
    this.session = /** @type {Session} */ (session);
    return this.session;
  }

  /**
   * A request with the token; on 401 the client signs in again and
   * repeats it once.
   * @param {string} method @param {string} path @param {unknown} [body] @param {boolean} [asBlob]
   */
  async #authed(method, path, body, asBlob) {
    if (!this.#token) await this.signIn();
    try {
      return await exchange(method, path, { body, token: this.#token, asBlob });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      await this.signIn();
      return exchange(method, path, { body, token: this.#token, asBlob });
    }
  }

  #q() {
    return `?line=${encodeURIComponent(this.line)}`;
  }

  /** The line's requested, accepted and live calls, soonest first: {line, calls}. */
  listCalls() {
    return this.#authed('GET', `/api/calls${this.#q()}`);
  }

  /** The live call's segment and last marker (docs/API.md, "Segments"). @param {string} call */
  segment(call) {
    return this.#authed('GET', `/api/live/${encodeURIComponent(this.line)}/${encodeURIComponent(call)}/segment`);
  }

  /** Posts a segment marker signed by this device. @param {string} call @param {unknown} marker */
  setSegment(call, marker) {
    return this.#authed('POST', `/api/live/${encodeURIComponent(this.line)}/${encodeURIComponent(call)}/segment`, marker);
  }

  /** Past calls with who took part: {line, calls}. */
  history() {
    return this.#authed('GET', `/api/history${this.#q()}`);
  }

  /** @param {string} id */
  getCall(id) {
    return this.#authed('GET', `/api/calls/${encodeURIComponent(id)}`);
  }

  /**
   * Requests a call (docs/API.md, "Request body"); the line is the session's.
   * @param {{kind: string, when: string, duration_minutes: number, agenda?: string[], participants?: {name: string, roles: string[]}[], languages?: string[]}} req
   */
  requestCall(req) {
    return this.#authed('POST', '/api/calls', { line: this.line, ...req });
  }

  /**
   * accept, decline, cancel, start or end a call.
   * @param {string} id @param {string} event @param {{version?: number, participants?: {name: string, roles: string[]}[]}} [body]
   */
  transition(id, event, body = {}) {
    return this.#authed('POST', `/api/calls/${encodeURIComponent(id)}/${encodeURIComponent(event)}`, body);
  }

  /** The line's call record: {hotline_record, line, entries} (docs/API.md, "Call record"). */
  record() {
    return this.#authed('GET', `/api/lines/${encodeURIComponent(this.line)}/record`);
  }

  /** The line's readouts (public): {line, readouts}. */
  readouts() {
    return exchange('GET', `/api/lines/${encodeURIComponent(this.line)}/readouts`);
  }

  /**
   * Publishes a signed readout (e2ee/readout.js); no session needed, the
   * signature is the authority: {id, seq}.
   * @param {unknown} signed
   */
  publishReadout(signed) {
    return exchange('POST', `/api/lines/${encodeURIComponent(this.line)}/readouts`, { body: signed });
  }

  /**
   * Fetches a call's iCalendar file with the token and hands it to the
   * browser as a download (a plain link cannot carry the token).
   * @param {string} id
   */
  async ics(id) {
    const blob = await this.#authed('GET', `/calls/${encodeURIComponent(id)}.ics`, undefined, true);
    saveBlob(blob, `${id}.ics`);
  }
}

/**
 * Offers a Blob as a file download.
 * @param {Blob} blob @param {string} filename
 */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started from the URL by now; a minute is plenty.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
