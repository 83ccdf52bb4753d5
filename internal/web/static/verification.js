// @ts-check
// The call header's end-to-end facts: the verification code the principals
// read aloud, and until when this device's credential is valid
// (docs/PROTOCOL.md, "Credential": at most 400 days; a revoked device is
// out before that, "Revocation"). Pure rendering from the E2EE session's
// state.

import { byId, el } from './dom.js';

/** Days before expiry from which the page asks for a new credential. */
export const SOON_DAYS = 14;

/**
 * @param {string} id
 * @param {string} cls
 * @param {string} title
 */
function headerItem(id, cls, title) {
  let box = document.getElementById(id);
  if (!box) {
    box = el('span', `meta ${cls}`);
    box.id = id;
    box.title = title;
    byId('call-info').append(box);
  }
  return box;
}

/**
 * @param {{code: string|null, selfExpires: number|null}} st the session's state
 * @param {number} [nowMs]
 */
export function renderVerification(st, nowMs = Date.now()) {
  const code = headerItem('e2ee-code', 'e2ee-code', 'Verification code: read it aloud; both sides must see the same');
  code.textContent = st.code ? `code ${st.code}` : 'code …';
  if (st.selfExpires === null) return;
  const exp = headerItem('credential-expiry', 'credential-expiry', "Until when this device's credential is valid; its officer can revoke it sooner");
  const days = Math.floor((st.selfExpires * 1000 - nowMs) / 86400000);
  const date = new Date(st.selfExpires * 1000).toISOString().slice(0, 10);
  exp.textContent = days < SOON_DAYS ? `credential expires ${date} (${Math.max(days, 0)} days): ask your officer for a new one` : `credential valid until ${date}`;
  exp.dataset.expires = String(st.selfExpires);
  exp.classList.toggle('soon', days < SOON_DAYS);
}
