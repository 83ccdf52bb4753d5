// @ts-check
// The browser's witness statements (docs/PROTOCOL.md, "Signed statements"):
// an E2EESession that, each time its verification code settles on a new
// value, signs what it sees (e2ee/witness.js) and hands it to the server
// for the line's call record. call.js makes its sessions from this class;
// a statement the server refuses is counted and shown in state(), never
// retried in a loop.

import { E2EESession } from './e2ee/session.js';
import { signWitness, witnessBody } from './e2ee/witness.js';
import { serverURL } from './endpoint.js';

/** How long a stay out of epochs waits for a statement on its way before it leaves. */
const SETTLE_MS = 2000;

export class WitnessedSession extends E2EESession {
  /** @param {ConstructorParameters<typeof E2EESession>[0]} opts */
  constructor(opts) {
    super(opts);
    /** the last code a statement was accepted for */
    this.witnessed = '';
    this.witnesses = 0;
    this.witnessError = '';
    /** the statement being signed or sent, if any @type {Promise<void>|null} */
    this.inflight = null;
    this.onChange(() => {
      this.#witness();
    });
    // A stay out of epochs ends: the page leaves it and joins again. A
    // statement on its way then would reach the server after the leave,
    // from a participant no longer in the call, and be refused (403): it
    // goes first, for at most SETTLE_MS.
    const exhausted = this.onExhausted;
    this.onExhausted = () => {
      const wait = new Promise((r) => setTimeout(r, SETTLE_MS));
      void Promise.race([this.inflight ?? Promise.resolve(), wait]).then(exhausted);
    };
  }

  state() {
    return { ...super.state(), witnesses: this.witnesses, witnessError: this.witnessError };
  }

  #witness() {
    const code = this.code;
    const key = this.key;
    const credential = this.identity.credential;
    if (!code || !key || !credential || code === this.witnessed || this.inflight || this.closed || this.exhausted) return;
    this.inflight = this.#send(code, key, credential).finally(() => {
      this.inflight = null;
    });
  }

  /** @param {string} code @param {{kid: number, baseKey: Uint8Array}} key @param {any} credential */
  async #send(code, key, credential) {
    try {
      const sigKeys = [this.identity.sigPub, ...[...this.members.values()].map((m) => m.sigKey)];
      const body = await witnessBody({ line: this.line, call: this.call, participant: this.selfId, kid: key.kid, baseKey: key.baseKey,
        sigKeys, code, segment: '', at: Math.floor(Date.now() / 1000) });
      const st = await signWitness(body, this.identity.sigPrivate, credential);
      if (this.closed || this.exhausted) return; // the stay ended while we signed
      const res = await fetch(serverURL(`/api/lines/${encodeURIComponent(this.line)}/record/witness`), {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(st), cache: 'no-store', credentials: 'omit',
      });
      if (res.ok) {
        this.witnessed = code;
        this.witnesses++;
        this.witnessError = '';
      } else {
        this.witnessError = `HTTP ${res.status}: ${(await res.json().catch(() => null))?.error ?? ''}`;
        this.witnessed = code; // not again for this code
      }
    } catch (err) {
      this.witnessError = String(err);
    }
  }
}
