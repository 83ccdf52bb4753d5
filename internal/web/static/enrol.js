// @ts-check
// The enrolment page, /enrol: makes this browser a device of a line.
//
//   /enrol?token=T&side=S&name=N&roles=r1,r2   demo link: enrolled at once
//                                               (the server signs if side,
//                                               name and roles are the ones
//                                               the token grants)
//   /enrol?token=T                              the same, asking for them
//   /enrol                                      request an officer's approval
//
// The device keys are made here and stay here (e2ee/identity.js); what goes
// to the server is the signed request (public keys). Whatever comes back is
// checked before it is kept: the credential must verify against the pins it
// came with and must name this device's own keys. The two authority
// fingerprints are shown so that the person can compare them with what the
// officers read to each other (PROTOCOL.md, "Keys").

import { byId, el } from './dom.js';
import { serverURL } from './endpoint.js';
import { decode as fromB64u } from './e2ee/b64u.js';
import { createIdentity, loadIdentity, saveEnrolment, savePendingRequest } from './e2ee/identity.js';
import { ROLES as TRUST_ROLES, deviceId, fingerprint, makeRequest, validDisplayName, validSide, verifyCredential } from './e2ee/trust.js';

/** @typedef {import('./e2ee/identity.js').Identity} Identity */
/** @typedef {import('./e2ee/identity.js').Pin} Pin */
/** @typedef {import('./e2ee/identity.js').Signed} Signed */

/** The roles of PROTOCOL.md ("Keys"), with the words people read. */
export const ROLES = TRUST_ROLES.map((r) => [r, r.charAt(0).toUpperCase() + r.slice(1).replaceAll('_', ' ')]);
const ROLE_LABEL = new Map(/** @type {[string, string][]} */ (ROLES));
/** @param {string} r */
export const roleLabel = (r) => ROLE_LABEL.get(r) ?? r;

/** What verifyCredential's reasons mean to a person. */
const WHY = {
  malformed: 'it is malformed',
  unknown_authority: "it is not signed by one of the line's authorities",
  side_mismatch: 'its side is not the one of the authority that signed it',
  bad_signature: 'its signature is wrong',
  not_yet_valid: 'it is not valid yet (check this computer\'s clock)',
  expired: 'it has expired',
};
/** @param {string} reason */
const why = (reason) => /** @type {Record<string, string>} */ (WHY)[reason] ?? reason;

/** Line and call names, as PROTOCOL.md bounds identifiers. */
export const LINE = /^[A-Za-z0-9._-]{1,64}$/;

/** How often a pending request is asked about. */
const POLL_MS = 1500;

/**
 * A JSON API call. Resolves with the decoded answer of a 2xx; rejects with
 * an Error whose message is the server's {"error"} (or what went wrong).
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {string} [token] an officer session's bearer token
 * @returns {Promise<any>}
 */
export async function api(method, path, body, token) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  /** @type {Response} */
  let res;
  try {
    res = await fetch(serverURL(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch {
    throw Object.assign(new Error('Could not reach the server. Check the network and try again.'), { status: 0 });
  }
  /** @type {any} */
  let data = null;
  try {
    data = await res.json();
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!res.ok) {
    const why = typeof data?.error === 'string' && data.error ? data.error : res.statusText || 'no reason given';
    throw Object.assign(new Error(`The server refused (HTTP ${res.status}): ${why}`), { status: res.status });
  }
  if (data === null || typeof data !== 'object') throw Object.assign(new Error(`The server's answer could not be read (HTTP ${res.status}).`), { status: res.status });
  return data;
}

/** Entry point from app.js. */
export async function showEnrol() {
  const page = new EnrolPage();
  await page.start();
  return page;
}

class EnrolPage {
  constructor() {
    this.root = byId('enrol-page');
    this.form = /** @type {HTMLFormElement} */ (byId('enrol-form'));
    this.lineField = byId('enrol-line-field');
    this.line = /** @type {HTMLInputElement} */ (byId('enrol-line'));
    this.side = /** @type {HTMLInputElement} */ (byId('enrol-side'));
    this.name = /** @type {HTMLInputElement} */ (byId('enrol-name'));
    this.roles = byId('enrol-roles');
    this.error = byId('enrol-error');
    this.submit = /** @type {HTMLButtonElement} */ (byId('enrol-submit'));
    this.status = byId('enrol-status');
    this.lede = byId('enrol-lede');
    this.title = byId('enrol-title');
    this.params = new URLSearchParams(location.search);
    this.token = this.params.get('token') ?? '';
    this.pollTimer = 0;

    for (const [value, label] of ROLES) {
      const box = /** @type {HTMLInputElement} */ (el('input'));
      box.type = 'checkbox';
      box.name = 'role';
      box.value = value;
      const l = el('label', 'check');
      l.append(box, el('span', '', label));
      this.roles.append(l);
    }
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.#submit();
    });
  }

  async start() {
    this.root.hidden = false;
    document.title = 'Enrol · hotline';
    const id = await loadIdentity();
    if (this.token) {
      // Demo link: the line comes with the answer.
      this.lineField.hidden = true;
      this.title.textContent = 'Enrol this device';
      this.lede.textContent = 'This link enrols this browser as a device of a demo line.';
      this.side.value = this.params.get('side') ?? '';
      this.name.value = this.params.get('name') ?? '';
      this.#setRoles((this.params.get('roles') ?? '').split(',').filter(Boolean));
      if (this.#read()) {
        await this.#submit();
        return;
      }
      this.#showForm();
      return;
    }
    if (id?.requestId && id.request) {
      this.#state('pending');
      await this.#showPending(id, id.requestId, null);
      this.#poll(id, id.requestId, id.line ?? '', null);
      return;
    }
    if (id?.credential && id.pins) {
      const v = await verifyCredential(id.credential, id.pins, nowSeconds());
      if (v.ok) {
        await this.#showEnrolled(id, v, id.line ?? '', '', 'This browser is already enrolled.');
        return;
      }
    }
    this.line.value = this.params.get('line') ?? '';
    this.side.value = this.params.get('side') ?? '';
    this.#showForm();
  }

  /** @param {string[]} roles */
  #setRoles(roles) {
    for (const box of this.#roleBoxes()) box.checked = roles.includes(box.value);
  }

  #roleBoxes() {
    return /** @type {HTMLInputElement[]} */ ([...this.roles.querySelectorAll('input[name=role]')]);
  }

  /** @param {'form'|'sending'|'pending'|'enrolled'|'error'} s */
  #state(s) {
    this.root.dataset.state = s;
  }

  #showForm() {
    this.#state('form');
    this.form.hidden = false;
    this.status.hidden = true;
    this.submit.disabled = false;
    (this.token || this.line.value ? this.name : this.line).focus();
  }

  /**
   * The form's values if they are valid (else null, with the reason shown).
   * @returns {{line: string, side: string, name: string, roles: string[]}|null}
   */
  #read() {
    const line = this.line.value.trim();
    const side = this.side.value.trim();
    const name = this.name.value.trim();
    // In the order the link gives them: a demo token grants an exact list.
    const linked = (this.params.get('roles') ?? '').split(',');
    /** @param {string} r */
    const rank = (r) => (linked.includes(r) ? linked.indexOf(r) : linked.length + TRUST_ROLES.indexOf(r));
    const roles = this.#roleBoxes().filter((b) => b.checked).map((b) => b.value).sort((a, b) => rank(a) - rank(b));
    if (!this.token && !LINE.test(line)) return this.#invalid('A line name is 1 to 64 letters, digits, dots, dashes or underscores.', this.line);
    if (validSide(side)) return this.#invalid('A side is 1 to 32 lower-case letters, digits or dashes.', this.side);
    if (validDisplayName(name)) return this.#invalid('Enter your name (1 to 64 printable characters).', this.name);
    if (roles.length === 0) return this.#invalid('Choose at least one role.');
    this.error.hidden = true;
    return { line, side, name, roles };
  }

  /** @param {string} text @param {HTMLElement} [focus] @returns {null} */
  #invalid(text, focus) {
    this.error.textContent = text;
    this.error.hidden = false;
    focus?.focus();
    return null;
  }

  async #submit() {
    const f = this.#read();
    if (!f) return;
    this.#state('sending');
    this.submit.disabled = true;
    try {
      const id = (await loadIdentity()) ?? (await createIdentity());
      const request = await makeRequest({
        side: f.side,
        name: f.name,
        roles: f.roles,
        sigPrivate: id.sigPrivate,
        sigPub: id.sigPub,
        kemPub: id.kemPub,
        created: nowSeconds(),
      });
      if (this.token) {
        const ans = await api('POST', '/api/enrol', { token: this.token, request });
        await this.#finish(id, ans, '');
        return;
      }
      const ans = await api('POST', '/api/requests', { line: f.line, request });
      if (typeof ans.id !== 'string' || !ans.id) throw new Error("The server's answer has no request id.");
      const pins = checkPins(ans.pins);
      await savePendingRequest({ request, requestId: ans.id, line: f.line });
      this.#state('pending');
      await this.#showPending(id, ans.id, pins);
      this.#poll(id, ans.id, f.line, pins);
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Asks the server about the request until an officer has approved it.
   * @param {Identity} id
   * @param {string} requestId
   * @param {string} line the line asked for
   * @param {Pin[]|null} pins those the server named when the request was sent
   */
  #poll(id, requestId, line, pins) {
    const tick = async () => {
      try {
        const ans = await api('GET', `/api/requests/${encodeURIComponent(requestId)}`);
        if (ans.state === 'approved') {
          if (pins && !samePins(pins, checkPins(ans.pins))) throw new Error('The line\'s authority keys changed while the request was pending; ask your officer.');
          await this.#finish(id, ans, line);
          return;
        }
        if (ans.state === 'rejected') throw new Error('Your officer rejected this request. Ask them why; a new request starts over.');
        if (ans.state !== 'pending') throw new Error(`Unexpected request state ${String(ans.state).slice(0, 32)}.`);
        this.pollTimer = window.setTimeout(() => void tick(), POLL_MS);
      } catch (err) {
        this.#fail(err, true);
      }
    };
    this.pollTimer = window.setTimeout(() => void tick(), POLL_MS);
  }

  /**
   * Checks and stores a credential answer: {credential, pins, line, call?}.
   * @param {Identity} id
   * @param {any} ans
   * @param {string} line the line asked for ('' for a demo link)
   */
  async #finish(id, ans, line) {
    const pins = checkPins(ans.pins);
    const cred = ans.credential;
    if (!cred || typeof cred.body !== 'string' || typeof cred.sig !== 'string') throw new Error("The server's answer has no credential.");
    const gotLine = typeof ans.line === 'string' ? ans.line : '';
    if (!LINE.test(gotLine)) throw new Error("The server's answer names no valid line.");
    if (line && gotLine !== line) throw new Error(`The credential is for line ${gotLine}, not ${line}.`);
    /** @type {any} verifyCredential's {ok: true, …} or {ok: false, reason} */
    const v = await verifyCredential(cred, pins, nowSeconds());
    if (!v.ok) throw new Error(`The credential does not verify: ${why(v.reason)}. Nothing was stored.`);
    if (!equalBytes(v.sigKey, id.sigPub) || !equalBytes(v.kemKey, id.kemPub)) throw new Error("The credential is not for this device's keys. Nothing was stored.");
    const saved = await saveEnrolment({ credential: { body: cred.body, sig: cred.sig }, pins, line: gotLine });
    const call = typeof ans.call === 'string' && LINE.test(ans.call) ? ans.call : '';
    // A demo token works once: a reload must not send it again.
    if (this.token) history.replaceState(null, '', '/enrol');
    await this.#showEnrolled(saved, v, gotLine, call, 'This browser is now enrolled.');
  }

  /**
   * @param {Identity} id
   * @param {string} requestId
   * @param {Pin[]|null} pins
   */
  async #showPending(id, requestId, pins) {
    this.form.hidden = true;
    this.title.textContent = 'Waiting for approval';
    this.lede.textContent = 'Your security officer has to approve this device. Read them the request and device ids below; this page updates by itself.';
    const dl = el('dl', 'kv');
    kv(dl, 'Request', requestId, 'enrol-request-id', true);
    kv(dl, 'Device', await deviceId(id.sigPub), 'enrol-device-id', true);
    const box = el('div', 'enrol-result');
    box.append(dl);
    if (pins) box.append(await pinsList(pins, ''));
    const again = el('button', 'btn', 'Start a new request');
    again.setAttribute('type', 'button');
    again.addEventListener('click', () => {
      window.clearTimeout(this.pollTimer);
      this.title.textContent = 'Enrol this device';
      this.#showForm();
    });
    const actions = el('div', 'page-actions');
    actions.append(again);
    box.append(actions);
    this.status.replaceChildren(box);
    this.status.hidden = false;
  }

  /**
   * Who this device now is, from the verified credential.
   * @param {Identity} id
   * @param {any} v verifyCredential's result
   * @param {string} line
   * @param {string} call
   * @param {string} headline
   */
  async #showEnrolled(id, v, line, call, headline) {
    this.#state('enrolled');
    this.form.hidden = true;
    this.title.textContent = headline;
    this.lede.textContent = 'Compare the two fingerprints with the ones your officer gave you. If they differ, do not use this device.';
    const dl = el('dl', 'kv');
    kv(dl, 'Name', v.name, 'enrol-who-name');
    kv(dl, 'Side', v.side, 'enrol-who-side');
    kv(dl, 'Roles', v.roles.map(roleLabel).join(', '), 'enrol-who-roles');
    kv(dl, 'Device', await deviceId(id.sigPub), 'enrol-who-device', true);
    kv(dl, 'Line', line, 'enrol-who-line');
    kv(dl, 'Valid until', new Date(v.expires * 1000).toLocaleString(), 'enrol-who-expires');
    const box = el('div', 'enrol-result');
    box.append(dl, await pinsList(id.pins ?? [], v.side));
    const actions = el('div', 'page-actions');
    if (call) {
      const a = /** @type {HTMLAnchorElement} */ (el('a', 'btn primary', `Join call ${call}`));
      a.id = 'enrol-join';
      a.href = `/call/${encodeURIComponent(call)}?line=${encodeURIComponent(line)}`;
      actions.append(a);
    } else {
      const f = el('form', 'inline-form');
      const input = /** @type {HTMLInputElement} */ (el('input'));
      input.id = 'enrol-call';
      input.placeholder = 'Call name';
      input.setAttribute('aria-label', 'Call name');
      input.autocomplete = 'off';
      input.maxLength = 64;
      const go = el('button', 'btn primary', 'Join');
      go.setAttribute('type', 'submit');
      f.append(input, go);
      f.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const c = input.value.trim();
        if (LINE.test(c)) location.assign(`/call/${encodeURIComponent(c)}?line=${encodeURIComponent(line)}`);
        else input.focus();
      });
      actions.append(f);
    }
    box.append(actions);
    this.status.replaceChildren(box);
    this.status.hidden = false;
  }

  /** @param {unknown} err @param {boolean} [waiting] the request stays pending on the server */
  #fail(err, waiting) {
    this.#state('error');
    const text = err instanceof Error ? err.message : String(err);
    this.error.textContent = text;
    this.error.hidden = false;
    this.submit.disabled = false;
    this.status.hidden = true;
    this.form.hidden = false;
    if (waiting) this.title.textContent = 'The request could not be followed';
  }
}

/**
 * The pins of an answer, checked for shape: a side name and a 32-byte
 * Ed25519 key each, two at most, sides distinct.
 * @param {unknown} pins
 * @returns {Pin[]}
 */
export function checkPins(pins) {
  if (!Array.isArray(pins) || pins.length === 0 || pins.length > 2) throw new Error("The server's answer has no valid authority keys.");
  /** @type {Pin[]} */
  const out = [];
  for (const p of pins) {
    const side = p?.side;
    const key = p?.key;
    let raw;
    try {
      raw = typeof key === 'string' ? fromB64u(key) : null;
    } catch {
      raw = null;
    }
    if (typeof side !== 'string' || validSide(side) || !raw || raw.length !== 32 || out.some((o) => o.side === side)) {
      throw new Error("The server's answer has an invalid authority key.");
    }
    out.push({ side, key });
  }
  return out;
}

/** @param {Pin[]} a @param {Pin[]} b */
function samePins(a, b) {
  return a.length === b.length && a.every((p) => b.some((q) => q.side === p.side && q.key === p.key));
}

/**
 * The line's authorities and their fingerprints.
 * @param {Pin[]} pins
 * @param {string} own this device's side, marked
 */
export async function pinsList(pins, own) {
  const box = el('div', 'pins');
  box.append(el('h2', '', 'Authorities of the line'));
  const dl = el('dl', 'kv');
  for (const p of pins) {
    const fp = await fingerprint(fromB64u(p.key));
    kv(dl, p.side === own ? `${p.side} (your side)` : p.side, fp, `fp-${p.side}`, true);
  }
  box.append(dl);
  return box;
}

/**
 * Appends one term and its value to a description list.
 * @param {HTMLElement} dl @param {string} term @param {string} value @param {string} [id]
 * @param {boolean} [mono] an identifier people read out: fixed-width digits
 */
export function kv(dl, term, value, id, mono) {
  const dd = el('dd', mono ? 'mono' : '', value);
  if (id) dd.id = id;
  dl.append(el('dt', '', term), dd);
}

/** @param {unknown} a @param {Uint8Array} b */
function equalBytes(a, b) {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}
