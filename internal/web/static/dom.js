// @ts-check
// Element builders. Text goes in through textContent only, never innerHTML:
// names come from other participants and must never become markup.

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * An icon from the sprite in index.html.
 * @param {string} name symbol id without the "i-" prefix
 * @returns {SVGSVGElement}
 */
export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = /** @type {SVGSVGElement} */ (document.createElementNS(ns, 'svg'));
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(ns, 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

/** Swaps the icon of a button built from the sprite. @param {Element} button @param {string} name */
export function setIcon(button, name) {
  button.querySelector('use')?.setAttribute('href', `#i-${name}`);
}

/** @param {string} id @returns {any} the element; a missing one is a bug in index.html */
export function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html has no #${id}`);
  return e;
}

/**
 * Up to two initials for a name tile, from the words that start with a
 * letter or digit ("Adviser (voice)" gives "AV", not "A(").
 * @param {string} name
 */
export function initials(name) {
  const words = name.split(/\s+/u).map((w) => w.replace(/^[^\p{L}\p{N}]+/u, '')).filter(Boolean);
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return picked.map((w) => Array.from(w)[0]).join('').toUpperCase() || '?';
}

/** A short-lived message at the bottom of the screen. @param {string} text @param {'info'|'error'} [level] */
export function toast(text, level = 'info') {
  const box = byId('toasts');
  const t = el('div', `toast ${level}`, text);
  box.append(t);
  setTimeout(() => t.remove(), level === 'error' ? 9000 : 5000);
}

/**
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {string} current
 * @param {string} fallback label for a device that has none
 */
export function fillDevices(select, devices, current, fallback) {
  select.replaceChildren();
  devices.forEach((d, i) => {
    const o = document.createElement('option');
    o.value = d.deviceId;
    o.textContent = d.label || `${fallback} ${i + 1}`;
    o.selected = d.deviceId === current;
    select.append(o);
  });
  select.disabled = select.disabled || devices.length === 0;
}

/** A text with its first letter capitalised. @param {string} s */
export function sentence(s) {
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}`;
}
