// @ts-check
// The security officer's page, /officer: open the side's authority file,
// see the devices waiting for enrolment on a line, approve or reject them.
//
// Only where this page's code came from the officer's own binary (local
// client mode, endpoint.js): a page the line server served must never hold
// the authority key, since a changed server could serve a script that
// sends it home (THREAT_MODEL.md). There the page only says where approval
// went: `hotline officer`, or this page under `hotline open`.
//
// The authority file is read by this page (File API) and its key is used
// here to sign; neither the file nor the key is ever sent anywhere. The
// server receives only signatures: the credential (PROTOCOL.md,
// "Credential"), and the officer's sign-in (docs/API.md, "Officer
// sessions") without which it lists no request.
// The officer approves a device after comparing its device id with the one
// the requester reads from their own screen: the server could otherwise
// slip its own keys into a request that carries the right name.

import { byId, el } from './dom.js';
import { isLocal } from './endpoint.js';
import { decode as fromB64u, decodeLen } from './e2ee/b64u.js';
import { officerProof } from './e2ee/session-proof.js';
import { NONCE_SIZE, deviceId, fingerprint, loadAuthorityFile, signCredential } from './e2ee/trust.js';
import { LINE, api, kv, roleLabel } from './enrol.js';

/** How often the list of pending requests is fetched again. */
const REFRESH_MS = 5000;
const DAY = 86400;

/** Entry point from app.js. */
export async function showOfficer() {
  if (!isLocal()) {
    const root = byId('officer-page');
    root.hidden = false;
    root.dataset.state = 'moved';
    byId('officer-load').remove(); // no file input in a page the server sent
    byId('officer-lede').hidden = true;
    byId('officer-moved').hidden = false;
    document.title = 'Officer · hotline';
    return null;
  }
  const page = new OfficerPage();
  page.start();
  return page;
}

/**
 * @typedef {{id: string, request: {body: string, sig: string}, created: number}} Pending
 */

class OfficerPage {
  /** @type {string} the officer session's bearer token, in memory only */
  #token = '';

  constructor() {
    this.root = byId('officer-page');
    this.form = /** @type {HTMLFormElement} */ (byId('officer-load'));
    this.file = /** @type {HTMLInputElement} */ (byId('officer-file'));
    this.pass = /** @type {HTMLInputElement} */ (byId('officer-pass'));
    this.line = /** @type {HTMLInputElement} */ (byId('officer-line'));
    this.error = byId('officer-error');
    this.open = /** @type {HTMLButtonElement} */ (byId('officer-open'));
    this.panel = byId('officer-authority');
    this.days = /** @type {HTMLInputElement} */ (byId('officer-days'));
    this.list = byId('officer-requests');
    this.listError = byId('officer-list-error');
    /** @type {any} the loaded authority (trust.loadAuthorityFile); kept in memory only */
    this.authority = null;
    this.lineName = '';
    this.timer = 0;
    /** @type {Set<string>} request ids approved from this page */
    this.approved = new Set();
    /** @type {Set<string>} requests being signed or sent now */
    this.busy = new Set();
    /** How many requests were rejected from this page. */
    this.rejected = 0;
    this.refreshing = false;
  }

  start() {
    this.root.hidden = false;
    this.root.dataset.state = 'locked';
    document.title = 'Officer · hotline';
    this.line.value = new URLSearchParams(location.search).get('line') ?? '';
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.#load();
    });
    byId('officer-refresh').addEventListener('click', () => void this.refresh());
  }

  async #load() {
    const file = this.file.files?.[0];
    const line = this.line.value.trim();
    if (!file) return this.#formError('Choose the authority file.');
    if (!LINE.test(line)) return this.#formError('A line name is 1 to 64 letters, digits, dots, dashes or underscores.');
    this.open.disabled = true;
    try {
      const text = await file.text();
      // The passphrase is used once and not kept, not even in the field.
      const pass = this.pass.value;
      this.pass.value = '';
      this.authority = await loadAuthorityFile(text, pass);
    } catch (err) {
      this.open.disabled = false;
      return this.#formError(`The authority file could not be opened: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.lineName = line;
    this.error.hidden = true;
    this.form.hidden = true;
    const a = this.authority;
    byId('officer-side').textContent = a.side;
    byId('officer-line-name').textContent = line;
    byId('officer-fp').textContent = await fingerprint(a.publicKey);
    byId('officer-demo').hidden = !a.demo;
    this.panel.hidden = false;
    this.root.dataset.state = 'open';
    await this.refresh();
  }

  /** @param {string} text */
  #formError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  /** Signs in as the side's officer: a fresh challenge signed with the authority key. */
  async #signIn() {
    this.#token = '';
    const ch = await api('POST', '/api/session/challenge');
    const nonce = decodeLen(String(ch.nonce), NONCE_SIZE);
    const side = this.authority.side;
    const proof = await officerProof(this.authority.privateKey, nonce, this.lineName, side);
    const s = await api('POST', '/api/session/officer', { line: this.lineName, side, nonce: ch.nonce, proof });
    if (typeof s.token !== 'string' || !s.token) throw new Error("The server's sign-in answer has no token.");
    this.#token = s.token;
  }

  /**
   * A request in the officer session; signs in first, and again once if the
   * server forgot the session (restart, expiry: 401).
   * @param {string} method @param {string} path @param {unknown} [body]
   */
  async #authed(method, path, body) {
    if (!this.#token) await this.#signIn();
    try {
      return await api(method, path, body, this.#token);
    } catch (err) {
      if (/** @type {{status?: number}} */ (err).status !== 401) throw err;
      await this.#signIn();
      return api(method, path, body, this.#token);
    }
  }

  /** Fetches the pending requests of the line for our side and shows them. */
  async refresh() {
    if (!this.authority || this.refreshing) return;
    this.refreshing = true;
    window.clearTimeout(this.timer);
    try {
      const q = new URLSearchParams({ line: this.lineName, side: this.authority.side });
      const ans = await this.#authed('GET', `/api/requests?${q}`);
      const reqs = Array.isArray(ans.requests) ? ans.requests : [];
      const rows = await Promise.all(reqs.map((/** @type {Pending} */ r) => this.#row(r)));
      this.list.replaceChildren(...rows);
      if (rows.length === 0) this.list.append(el('p', 'muted', 'No device is waiting for approval.'));
      this.listError.hidden = true;
      this.root.dataset.requests = String(rows.length);
    } catch (err) {
      this.listError.textContent = err instanceof Error ? err.message : String(err);
      this.listError.hidden = false;
    } finally {
      this.refreshing = false;
      this.timer = window.setTimeout(() => void this.refresh(), REFRESH_MS);
    }
  }

  /**
   * One pending request: who asks, with which device, and an Approve button.
   * What the body says is only a claim until the officer has compared the
   * device id with the requester.
   * @param {Pending} p
   */
  async #row(p) {
    const row = el('div', 'request');
    row.dataset.id = String(p?.id ?? '');
    /** @type {any} */
    let body = null;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromB64u(p.request.body)));
    } catch {
      body = null;
    }
    if (!body || typeof body.name !== 'string' || !Array.isArray(body.roles) || typeof body.sig_key !== 'string') {
      row.append(el('div', 'request-who', 'Unreadable request'), el('p', 'form-error', `Request ${String(p?.id).slice(0, 64)} cannot be decoded; it cannot be approved.`));
      return row;
    }
    let dev = '';
    try {
      dev = await deviceId(fromB64u(body.sig_key));
    } catch {
      dev = '(invalid key)';
    }
    const who = el('div', 'request-who');
    who.append(el('span', 'request-name', body.name), el('span', 'request-roles', body.roles.map((/** @type {unknown} */ r) => roleLabel(String(r))).join(', ')));
    const dl = el('dl', 'kv');
    kv(dl, 'Device', dev, undefined, true);
    kv(dl, 'Request', String(p.id), undefined, true);
    kv(dl, 'Side', String(body.side));
    if (typeof p.created === 'number') kv(dl, 'Sent', new Date(p.created * 1000).toLocaleString());
    const msg = el('p', 'request-msg');
    msg.hidden = true;
    const approve = /** @type {HTMLButtonElement} */ (el('button', 'btn primary', 'Approve'));
    approve.type = 'button';
    approve.className = 'btn primary request-approve';
    if (this.approved.has(p.id)) {
      approve.disabled = true;
      approve.textContent = 'Approved';
    }
    if (body.side !== this.authority.side) {
      approve.disabled = true;
      msg.textContent = `This request is for side ${String(body.side)}, not ${this.authority.side}.`;
      msg.hidden = false;
    }
    const reject = /** @type {HTMLButtonElement} */ (el('button', 'btn request-reject', 'Reject'));
    reject.type = 'button';
    if (this.approved.has(p.id)) reject.disabled = true;
    approve.addEventListener('click', () => void this.#approve(p, approve, msg, reject));
    reject.addEventListener('click', () => void this.#reject(p, reject, msg, approve));
    const actions = el('div', 'request-actions');
    actions.append(approve, reject);
    row.append(who, dl, msg, actions);
    return row;
  }

  /**
   * Rejects a request: its device learns so, and it leaves the list.
   * @param {Pending} p @param {HTMLButtonElement} button @param {HTMLElement} msg @param {HTMLButtonElement} approve
   */
  async #reject(p, button, msg, approve) {
    await this.#decide(p, [button, approve], msg, async () => {
      await this.#authed('POST', `/api/requests/${encodeURIComponent(p.id)}/reject`);
      this.rejected += 1;
      this.root.dataset.rejected = String(this.rejected);
      button.textContent = 'Rejected';
      return 'Rejected: this device will not be enrolled.';
    });
  }

  /**
   * Signs the request into a credential valid for the chosen number of days
   * and hands it to the server.
   * @param {Pending} p @param {HTMLButtonElement} button @param {HTMLElement} msg @param {HTMLButtonElement} reject
   */
  async #approve(p, button, msg, reject) {
    const days = Number(this.days.value);
    if (!Number.isInteger(days) || days < 1 || days > 400) {
      say(msg, 'Validity is 1 to 400 days.', false);
      return;
    }
    await this.#decide(p, [button, reject], msg, async () => {
      const issued = Math.floor(Date.now() / 1000);
      const credential = await signCredential(this.authority, p.request, issued, issued + days * DAY);
      await api('POST', `/api/requests/${encodeURIComponent(p.id)}/credential`, { credential });
      this.approved.add(p.id);
      this.root.dataset.approved = String(this.approved.size);
      button.textContent = 'Approved';
      return `Approved for ${days} day${days === 1 ? '' : 's'}.`;
    });
  }

  /**
   * Runs one decision on a request once at a time, with its buttons off
   * meanwhile (and on again if it fails), and says the outcome.
   * @param {Pending} p @param {HTMLButtonElement[]} buttons @param {HTMLElement} msg
   * @param {() => Promise<string>} act resolves with what to say
   */
  async #decide(p, buttons, msg, act) {
    if (this.busy.has(p.id) || this.approved.has(p.id)) return;
    this.busy.add(p.id);
    for (const b of buttons) b.disabled = true;
    try {
      say(msg, await act(), true);
    } catch (err) {
      for (const b of buttons) b.disabled = false;
      say(msg, err instanceof Error ? err.message : String(err), false);
    } finally {
      this.busy.delete(p.id);
    }
  }
}

/** Shows text under a request, as a success or an error. @param {HTMLElement} msg @param {string} text @param {boolean} ok */
function say(msg, text, ok) {
  msg.textContent = text;
  msg.className = ok ? 'request-msg ok' : 'request-msg form-error';
  msg.hidden = false;
}
