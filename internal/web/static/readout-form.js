// @ts-check
// "Write readout" on the schedule page (issue 15): a press officer or an
// operator of a side writes its readout of a past call, optionally
// correcting an earlier one of its own; the page signs it with this
// browser's device key exactly as `hotline readout publish` does
// (e2ee/readout.js, pinned by testdata/readout.json) and posts it to
// POST /api/lines/{line}/readouts (docs/PROTOCOL.md, "Readouts"). The
// server checks the signature, the role and the side again; the form only
// spares a refusal.

import { el } from './dom.js';
import { MAX_READOUT_TEXT, readoutBody, signReadout } from './e2ee/readout.js';

/**
 * Who may write: this browser's device, when its roles include READOUT_ROLES.
 * @typedef {{line: string, side: string, credential: {body: string, sig: string}, sigPrivate: CryptoKey}} Writer
 */

/**
 * The form for call id, under the writer's side's readouts.
 * @param {{publishReadout(signed: unknown): Promise<{id: string, seq: number}>}} api
 * @param {Writer} writer
 * @param {string} call the booked call's id
 * @param {{id: string, published: number}[]} own the side's earlier readouts of the call
 * @param {(id: string) => void} published called with the new readout's id once the server stored it
 * @returns {HTMLFormElement}
 */
export function readoutForm(api, writer, call, own, published) {
  const form = /** @type {HTMLFormElement} */ (el('form', 'readout-form'));
  form.id = 'readout-form';
  form.append(el('h3', '', 'Write readout'));
  const text = /** @type {HTMLTextAreaElement} */ (el('textarea'));
  text.id = 'readout-text';
  text.rows = 8;
  text.required = true;
  text.placeholder = `${writer.side}'s readout of the call: plain text or Markdown`;
  const textLabel = el('label', 'field');
  textLabel.append(el('span', '', 'Readout (Markdown)'), text);
  form.append(textLabel);
  const corrects = /** @type {HTMLSelectElement} */ (el('select'));
  corrects.id = 'readout-corrects';
  corrects.append(new Option('nothing: a new readout', ''));
  for (const r of own) {
    corrects.append(new Option(`${r.id} (${new Date(r.published * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC)`, r.id));
  }
  if (own.length) {
    const label = el('label', 'field');
    label.append(el('span', '', 'Corrects'), corrects);
    form.append(label);
  }
  const status = el('p', 'form-error');
  status.id = 'readout-status';
  status.setAttribute('role', 'alert');
  status.hidden = true;
  const send = /** @type {HTMLButtonElement} */ (el('button', 'btn primary', 'Sign and publish'));
  send.type = 'submit';
  form.append(el('p', 'field-hint', 'Signed with this browser\'s device key and public at once: readouts are never edited or deleted, only corrected.'), send, status);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      const fail = (/** @type {string} */ msg) => {
        status.textContent = msg;
        status.hidden = false;
        form.dataset.state = 'error';
      };
      const bytes = new TextEncoder().encode(text.value).length;
      if (text.value.trim() === '' || bytes > MAX_READOUT_TEXT) return fail(`A readout is 1 to ${MAX_READOUT_TEXT} bytes; this one is ${bytes}.`);
      send.disabled = true;
      form.dataset.state = 'sending';
      try {
        const body = readoutBody({ line: writer.line, call, side: writer.side, text: text.value, corrects: corrects.value,
          published: Math.floor(Date.now() / 1000) });
        const out = await api.publishReadout(await signReadout(body, writer.sigPrivate, writer.credential));
        form.dataset.state = 'published';
        published(out.id);
      } catch (err) {
        fail(`The readout was not published: ${err instanceof Error ? err.message : err}`);
      } finally {
        send.disabled = false;
      }
    })();
  });
  return form;
}
