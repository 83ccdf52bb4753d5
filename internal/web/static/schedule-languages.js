// @ts-check
// The schedule page's interpretation languages (docs/API.md, "languages" of a
// call; docs/PROTOCOL.md, "Interpretation"): the request form's field and the
// line of a call's card that names them. The server checks the tags (BCP 47
// shape, at most 8, none twice) and its refusal is shown next to the form.

import { el } from './dom.js';

/**
 * The tags typed in the form's field, in order, separated by spaces or
 * commas ("ru, en" → ["ru", "en"]); the server checks each.
 * @param {string} text
 * @returns {string[]}
 */
export function parseLanguages(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Adds the call's languages to a card's details list: a dt and a dd whose
 * items carry data-language (tests and styles find them there).
 * @param {HTMLElement} dl @param {{languages?: string[]}} c
 */
export function languagesDetail(dl, c) {
  const langs = c.languages ?? [];
  const dd = el('dd', 'sched-languages');
  if (!langs.length) {
    dd.classList.add('muted');
    dd.textContent = 'none (no interpretation)';
  } else {
    langs.forEach((l, i) => {
      const item = el('span', 'sched-language', l);
      item.dataset.language = l;
      if (i) dd.append(' · ');
      dd.append(item);
    });
  }
  dl.append(el('dt', '', 'Interpretation'), dd);
}
