// @ts-check
// This browser's device identity (docs/PROTOCOL.md, "Keys"), kept in
// IndexedDB: database "hotline", object store "device", one record.
//
// What is stored, and why it may be:
// - sigPrivate: the Ed25519 signing key as a CryptoKey made non-extractable
//   by trust.newDeviceKeys(). IndexedDB stores the CryptoKey object itself
//   (structured clone); its bytes never exist in JavaScript, so no script,
//   not even ours, can read them out or send them anywhere.
// - kemSeed: the X-Wing private key is a 32-byte seed, and it has to be raw
//   bytes because WebCrypto has no ML-KEM: the HPKE code in keymsg.js needs
//   them. So it is stored as bytes, in this origin's IndexedDB only, and never
//   leaves the browser (nothing in this client sends it).
// - public halves, the enrolment request while an officer has not approved
//   it, and once enrolled the credential, the line's two pinned authority
//   keys and the line name.

import { newDeviceKeys } from './trust.js';

/** @typedef {{body: string, sig: string}} Signed a request or credential: b64u body and signature */
/** @typedef {{side: string, key: string}} Pin an authority public key (b64u) and its side name */
/**
 * @typedef {object} Identity
 * @property {CryptoKey} sigPrivate Ed25519 private key, non-extractable
 * @property {Uint8Array} sigPub Ed25519 public key (32 bytes)
 * @property {Uint8Array} kemSeed X-Wing private seed (32 bytes)
 * @property {Uint8Array} kemPub X-Wing public key (1216 bytes)
 * @property {number} created Unix seconds
 * @property {Signed} [request] the pending enrolment request
 * @property {string} [requestId] the server's id of the pending request
 * @property {Signed} [credential] the credential, once enrolled
 * @property {Pin[]} [pins] the line's authority keys, pinned at enrolment
 * @property {string} [line] the line this device is enrolled on
 */

const DB_NAME = 'hotline';
// Version history: 1 = object store "device" with the record "self".
const DB_VERSION = 1;
const STORE = 'device';
const KEY = 'self';

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = (ev) => {
      const db = req.result;
      // Migrations by the version the database had; each step runs once.
      if (ev.oldVersion < 1) db.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the device database is in use by an older tab; close it and reload'));
  });
}

/**
 * Runs fn in one transaction on the store and resolves with fn's result once
 * the transaction has committed (so a resolved save is on disk).
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore, done: (v: T) => void, fail: (e: Error) => void) => void} fn
 *   done sets the result; fail aborts the transaction with that error
 * @returns {Promise<T>}
 */
async function withStore(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      /** @type {T} */
      let result = /** @type {any} */ (undefined);
      /** @type {Error|null} */
      let failure = null;
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(failure ?? tx.error ?? new Error('device database transaction aborted'));
      /** @param {Error} e */
      const fail = (e) => {
        failure = e;
        tx.abort();
      };
      try {
        fn(tx.objectStore(STORE), (v) => {
          result = v;
        }, fail);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  } finally {
    db.close();
  }
}

/**
 * Reads the record, lets change() edit it, and writes it back, all in one
 * transaction, so two tabs cannot interleave half-updates.
 * @param {(id: Identity) => void} change
 * @returns {Promise<Identity>}
 */
function update(change) {
  return withStore('readwrite', (store, done, fail) => {
    const get = store.get(KEY);
    get.onsuccess = () => {
      /** @type {Identity|undefined} */
      const id = get.result;
      if (!id) return fail(new Error('this browser has no device identity yet'));
      try {
        change(id);
      } catch (err) {
        return fail(err instanceof Error ? err : new Error(String(err)));
      }
      store.put(id, KEY);
      done(id);
    };
  });
}

/**
 * This browser's identity, or null if it has none.
 * @returns {Promise<Identity|null>}
 */
export function loadIdentity() {
  return withStore('readonly', (store, done) => {
    const get = store.get(KEY);
    get.onsuccess = () => done(get.result ?? null);
  });
}

/**
 * Makes new device keys and stores them as this browser's identity,
 * replacing any previous one (and with it its credential).
 * @returns {Promise<Identity>}
 */
export async function createIdentity() {
  const k = await newDeviceKeys();
  /** @type {Identity} */
  const id = {
    sigPrivate: k.sigKeyPair.privateKey,
    sigPub: k.sigPub,
    kemSeed: k.kemSeed,
    kemPub: k.kemPub,
    created: Math.floor(Date.now() / 1000),
  };
  if (id.sigPrivate.extractable) throw new Error('trust.newDeviceKeys returned an extractable signing key');
  await withStore('readwrite', (store, done) => {
    store.put(id, KEY);
    done(undefined);
  });
  return id;
}

/**
 * Records a verified credential: the device is enrolled on `line`. A pending
 * request is done with.
 * @param {{credential: Signed, pins: Pin[], line: string}} e
 * @returns {Promise<Identity>}
 */
export function saveEnrolment({ credential, pins, line }) {
  return update((id) => {
    id.credential = { body: credential.body, sig: credential.sig };
    id.pins = pins.map((p) => ({ side: p.side, key: p.key }));
    id.line = line;
    delete id.request;
    delete id.requestId;
  });
}

/**
 * Records an enrolment request sent for an officer's approval, so that a
 * reload resumes waiting for it.
 * @param {{request: Signed, requestId: string, line: string}} p
 * @returns {Promise<Identity>}
 */
export function savePendingRequest({ request, requestId, line }) {
  return update((id) => {
    id.request = { body: request.body, sig: request.sig };
    id.requestId = requestId;
    id.line = line;
  });
}

/**
 * Erases this browser's identity: keys, credential, pins. Irreversible; the
 * device has to be enrolled again.
 * @returns {Promise<void>}
 */
export function forgetIdentity() {
  return withStore('readwrite', (store, done) => {
    store.delete(KEY);
    done(undefined);
  });
}
