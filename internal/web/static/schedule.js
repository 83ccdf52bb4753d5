// @ts-check
// The schedule page, /schedule: the operator console and the participant's
// view of the line's calls (docs/API.md). It shows who this browser is (its
// verified credential), both sides' clocks, the upcoming calls with their
// start in both sides' zones, the actions this person may take, a form to
// request a call, and the history.
//
// The page signs in to the calls API with the device key (api.js). What it
// offers mirrors internal/schedule's rules (principals and operators act;
// the other side answers a request, the initiating side withdraws it, either
// side calls off an accepted call); the server enforces them anyway, and
// its refusal is shown where the action was tried.
//
// Every call card carries data-call-id, data-state and data-kind; actions
// are buttons with data-action (accept, decline, cancel) and links with
// data-action (join, ics).

import { HISTORY_ROLES, READOUT_ROLES, SCHEDULE_ROLES, WORKFLOW_ROLES, anyIn } from './roles.js';
import { ApiError, CallsApi } from './api.js';
import { byId, el } from './dom.js';
import { goBadge } from './gonogo.js';
import { loadIdentity } from './e2ee/identity.js';
import { verifyCredential } from './e2ee/trust.js';
import { kv, roleLabel } from './enrol.js';
import { showRecord } from './record.js';

/** How often the lists are fetched again, so the other side's moves appear. */
const POLL_MS = 4000;
/** How long a Decline or Cancel waits for its confirming second click. */
const CONFIRM_MS = 5000;

// internal/role's matrix, as far as this page needs it.

const STATE_LABEL = /** @type {Record<string, string>} */ ({
  requested: 'Requested', accepted: 'Accepted', live: 'Live', ended: 'Ended', declined: 'Declined', cancelled: 'Cancelled',
});
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * @typedef {{side: string, zone: string, time: string, offset: string, abbrev: string}} LocalTime
 * @typedef {{utc: string, text: string, local: LocalTime[]}} Time
 * @typedef {{name: string, roles: string[]}} Person
 * @typedef {{from: string, to: string, event: string, side: string, name: string, at: Time}} Transition
 * @typedef {{name: string, sides: {name: string, zone: string}[]}} Line
 * @typedef {object} CallView a call object of docs/API.md
 * @property {string} id
 * @property {Line} line
 * @property {string} kind
 * @property {string} state
 * @property {string} initiating_side
 * @property {Time} scheduled_start
 * @property {Time} scheduled_end
 * @property {number} duration_minutes
 * @property {number} [public_opening_minutes]
 * @property {string[]} agenda
 * @property {Record<string, Person[]>} participants
 * @property {Time} [actual_start]
 * @property {number} [actual_duration_seconds]
 * @property {Transition[]} transitions
 * @property {number} version
 * @property {string} ics
 * @property {string} [note]
 * @property {{name: string}[]} [sessions]
 * @property {import('./gonogo.js').Readiness} [readiness]
 */

/** Entry point from app.js. */
export async function showSchedule() {
  const page = new SchedulePage();
  await page.start();
  return page;
}

class SchedulePage {
  constructor() {
    this.root = byId('schedule-page');
    this.who = byId('sched-who');
    this.message = byId('sched-message');
    this.clocks = byId('sched-clocks');
    this.error = byId('sched-error');
    this.upcoming = byId('sched-upcoming');
    this.list = byId('sched-calls');
    this.waiting = byId('sched-waiting');
    this.form = /** @type {HTMLFormElement} */ (byId('sched-request'));
    this.kind = /** @type {HTMLSelectElement} */ (byId('sched-kind'));
    this.when = /** @type {HTMLInputElement} */ (byId('sched-when'));
    this.duration = /** @type {HTMLInputElement} */ (byId('sched-duration'));
    this.agenda = /** @type {HTMLTextAreaElement} */ (byId('sched-agenda'));
    this.advisers = /** @type {HTMLTextAreaElement} */ (byId('sched-advisers'));
    this.formError = byId('sched-request-error');
    this.formOk = byId('sched-request-ok');
    this.submit = /** @type {HTMLButtonElement} */ (byId('sched-request-submit'));
    this.pastBox = byId('sched-past');
    this.past = byId('sched-history');
    /** @type {CallsApi|null} */
    this.api = null;
    this.side = '';
    this.canAct = false;
    this.canHistory = false;
    /** @type {Line|null} */
    this.lineInfo = null;
    /** @type {Map<string, HTMLElement>} cards by id and version: unchanged calls keep their element */
    this.cards = new Map();
    /** @type {Map<string, string>} the last refusal of an action, by call id */
    this.refusals = new Map();
    /** @type {Set<string>} calls with an action under way */
    this.busy = new Set();
    this.timer = 0;
    this.refreshing = false;
  }

  /** @param {'loading'|'unenrolled'|'forbidden'|'error'|'ready'} s */
  #state(s) {
    this.root.dataset.state = s;
  }

  async start() {
    this.root.hidden = false;
    this.#state('loading');
    document.title = 'Schedule · hotline';
    const id = await loadIdentity();
    if (!id?.credential || !id.pins || !id.line) {
      return this.#stop('unenrolled', id?.requestId
        ? 'This browser is waiting for its enrolment to be approved. '
        : 'This browser is not enrolled on a line yet, so it cannot show the schedule. ', true);
    }
    /** @type {any} */
    const v = await verifyCredential(id.credential, id.pins, Math.floor(Date.now() / 1000));
    if (!v.ok) return this.#stop('unenrolled', `This browser's credential is not valid (${v.reason}). `, true);
    this.side = v.side;
    /** @type {string[]} */
    const roles = v.roles;
    this.who.replaceChildren(el('strong', '', v.name), ` · ${v.side} side · ${roles.map(roleLabel).join(', ')} · line ${id.line}`);
    if (!anyIn(SCHEDULE_ROLES, roles)) {
      return this.#stop('forbidden', `Your roles (${roles.map(roleLabel).join(', ')}) do not include the schedule: it is for principals, advisers, interpreters, operators and press officers.`, false);
    }
    this.canAct = anyIn(WORKFLOW_ROLES, roles);
    this.canHistory = anyIn(HISTORY_ROLES, roles);
    /** @type {import('./readout-form.js').Writer|null} who may write readouts (record.js) */
    this.writer = anyIn(READOUT_ROLES, roles) ? { line: id.line, side: v.side, credential: id.credential, sigPrivate: id.sigPrivate } : null;
    this.api = new CallsApi({ credential: id.credential, line: id.line, sigPrivate: id.sigPrivate });
    try {
      await this.api.signIn();
    } catch (err) {
      return this.#stop('error', `Could not sign in to the line's schedule: ${errorText(err)}`, false);
    }
    this.form.hidden = !this.canAct;
    this.pastBox.hidden = !this.canHistory;
    this.upcoming.hidden = false;
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.#request();
    });
    byId('sched-refresh').addEventListener('click', () => void this.refresh());
    await this.refresh();
    this.#state('ready');
    window.setInterval(() => this.#tick(), 1000);
  }

  /**
   * Ends the page with a message instead of the schedule.
   * @param {'unenrolled'|'forbidden'|'error'} state @param {string} text @param {boolean} enrolLink
   */
  #stop(state, text, enrolLink) {
    this.#state(state);
    this.message.replaceChildren(text);
    if (enrolLink) {
      const a = /** @type {HTMLAnchorElement} */ (el('a', '', 'Enrol this browser'));
      a.href = '/enrol';
      a.id = 'sched-enrol-link';
      this.message.append(a, '.');
    }
    this.message.hidden = false;
  }

  /** Fetches the calls (and the history) and shows them; runs again in POLL_MS. */
  async refresh() {
    if (!this.api || this.refreshing) return;
    this.refreshing = true;
    window.clearTimeout(this.timer);
    try {
      const [now, past] = await Promise.all([this.api.listCalls(), this.canHistory ? this.api.history() : null]);
      this.lineInfo = now.line;
      this.#showClocks();
      this.#showCalls(Array.isArray(now.calls) ? now.calls : []);
      if (past) this.#showHistory(Array.isArray(past.calls) ? past.calls : []);
      this.error.hidden = true;
    } catch (err) {
      this.error.textContent = `The schedule could not be updated: ${errorText(err)} (trying again in a few seconds)`;
      this.error.hidden = false;
    } finally {
      this.refreshing = false;
      this.timer = window.setTimeout(() => void this.refresh(), POLL_MS);
    }
  }

  // ---- clocks ----------------------------------------------------------

  /** Both sides of the line, their zones and their time now. */
  #showClocks() {
    const sides = this.lineInfo?.sides ?? [];
    if (this.clocks.childElementCount === sides.length) return;
    this.clocks.replaceChildren(...sides.map((s) => {
      const card = el('div', s.name === this.side ? 'sched-clock own' : 'sched-clock');
      card.dataset.side = s.name;
      card.dataset.zone = s.zone;
      card.append(
        el('span', 'sched-clock-side', s.name === this.side ? `${s.name} (your side)` : s.name),
        el('span', 'sched-clock-now'),
        el('span', 'sched-clock-zone', s.zone),
      );
      return card;
    }));
    this.clocks.hidden = false;
    this.#tick();
  }

  /** Once a second: the clocks, and how far away each call is. */
  #tick() {
    const now = new Date();
    for (const card of /** @type {HTMLElement[]} */ ([...this.clocks.children])) {
      const out = card.querySelector('.sched-clock-now');
      if (out) out.textContent = nowIn(now, card.dataset.zone ?? 'UTC');
    }
    for (const e of /** @type {HTMLElement[]} */ ([...this.list.querySelectorAll('.sched-in[data-utc]')])) {
      e.textContent = fromNow(Date.parse(e.dataset.utc ?? '') - now.getTime());
    }
  }

  // ---- upcoming calls --------------------------------------------------

  /** @param {CallView[]} calls soonest first, as the server sorts them */
  #showCalls(calls) {
    /** @type {Map<string, HTMLElement>} */
    const next = new Map();
    const cards = calls.map((c) => {
      const key = `${c.id}@${c.version}@${c.readiness?.badge ?? ''}`; // a new go/no-go redraws the card
      const card = this.cards.get(key) ?? this.#card(c);
      next.set(key, card);
      return card;
    });
    this.cards = next;
    // Keep elements in place when nothing moved, so that a click is never
    // lost to a redraw.
    const same = cards.length === this.list.children.length && cards.every((c, i) => this.list.children[i] === c);
    if (!same) this.list.replaceChildren(...cards);
    if (cards.length === 0) this.list.replaceChildren(el('p', 'muted', 'No calls are requested or scheduled on this line.'));
    const answer = calls.filter((c) => this.#mayAnswer(c)).length;
    this.waiting.textContent = answer === 1 ? '1 request is waiting for your answer.' : `${answer} requests are waiting for your answer.`;
    this.waiting.hidden = answer === 0;
    this.root.dataset.calls = String(calls.length);
    this.#tick();
  }

  /** @param {CallView} c */
  #mayAnswer(c) {
    return this.canAct && c.state === 'requested' && c.initiating_side !== this.side;
  }

  /**
   * One upcoming call.
   * @param {CallView} c
   */
  #card(c) {
    const card = el('article', 'sched-call');
    card.dataset.callId = c.id;
    card.dataset.state = c.state;
    card.dataset.kind = c.kind;
    if (this.#mayAnswer(c)) card.dataset.needs = 'answer';
    const top = this.#top(c);
    const inn = el('span', 'sched-in');
    if (c.state === 'live') inn.textContent = c.actual_start ? `live since ${clockOf(c.actual_start, this.side)}` : 'live';
    else inn.dataset.utc = c.scheduled_start.utc;
    top.append(inn);

    const dl = el('dl', 'kv');
    kv(dl, 'Expected', `${duration(c.duration_minutes * 60)} (until ${c.scheduled_end.text})`);
    if (c.public_opening_minutes > 0) kv(dl, 'Public opening', `${duration(c.public_opening_minutes * 60)} for the press, then private`);
    this.#details(dl, c);

    const msg = el('p', 'form-error sched-call-error');
    msg.setAttribute('role', 'alert');
    const refusal = this.refusals.get(c.id);
    msg.textContent = refusal ?? '';
    msg.hidden = !refusal;
    card.append(top, times(c.scheduled_start, this.side), dl, this.#actions(c, msg), msg);
    return card;
  }

  /**
   * The first line of a card: kind, state, who asked.
   * @param {CallView} c
   */
  #top(c) {
    const top = el('div', 'sched-call-top');
    const badge = el('span', 'sched-badge', STATE_LABEL[c.state] ?? c.state);
    badge.dataset.state = c.state;
    const first = c.transitions?.[0];
    const by = c.initiating_side === this.side ? 'your side' : c.initiating_side;
    top.append(el('span', 'sched-kind', c.kind === 'phone' ? 'Phone call' : 'Video call'), badge,
      el('span', 'sched-by', `requested by ${by}${first?.name ? ` (${first.name})` : ''}`));
    if (c.readiness) top.append(goBadge(c.readiness));
    return top;
  }

  /**
   * The agenda and who each side named, in the line's order.
   * @param {HTMLElement} dl @param {CallView} c
   */
  #details(dl, c) {
    const agenda = el('ol', 'sched-agenda');
    agenda.append(...(c.agenda ?? []).map((a) => el('li', '', a)));
    dl.append(el('dt', '', 'Agenda'), c.agenda?.length ? wrap('dd', agenda) : el('dd', 'muted', 'none given'));
    for (const s of c.line?.sides ?? []) {
      const people = c.participants?.[s.name] ?? [];
      const dd = el('dd', 'sched-people', people.length ? people.map((p) => `${p.name} (${p.roles.map(roleLabel).join(', ')})`).join(' · ') : 'nobody named yet');
      dd.dataset.side = s.name;
      dl.append(el('dt', '', s.name === this.side ? `${s.name} (your side)` : s.name), dd);
    }
  }

  /**
   * The buttons and links for what this person may do with the call.
   * @param {CallView} c @param {HTMLElement} msg where a refusal is shown
   */
  #actions(c, msg) {
    const box = el('div', 'sched-actions');
    if (this.canAct && c.state === 'requested' && c.initiating_side !== this.side) {
      box.append(this.#button(c, 'accept', 'Accept', 'btn primary', msg), this.#button(c, 'decline', 'Decline', 'btn', msg));
    } else if (this.canAct && c.state === 'requested') {
      box.append(this.#button(c, 'cancel', 'Withdraw request', 'btn', msg));
    } else if (this.canAct && c.state === 'accepted') {
      box.append(this.#button(c, 'cancel', 'Call off', 'btn', msg));
    } else if (this.canAct && c.state === 'live') {
      // Either side may hang up for good: the call ends and goes to history.
      box.append(this.#button(c, 'end', 'End call', 'btn', msg));
    }
    if (c.state === 'accepted' || c.state === 'live') {
      const join = link(`/call/${encodeURIComponent(c.id)}?line=${encodeURIComponent(c.line?.name ?? this.api?.line ?? '')}`, c.state === 'live' ? 'Join now' : 'Join', 'join');
      join.className = c.state === 'live' ? 'btn primary' : 'btn';
      box.append(join);
    }
    const ics = link(c.ics, 'Calendar (.ics)', 'ics');
    ics.addEventListener('click', (ev) => {
      ev.preventDefault();
      this.api?.ics(c.id).catch((err) => showRefusal(msg, `The calendar file could not be downloaded: ${errorText(err)}`));
    });
    box.append(ics);
    return box;
  }

  /**
   * An action button. Decline and cancel ask for a second click, so that a
   * slip under pressure does not call off the talks.
   * @param {CallView} c @param {string} event @param {string} label @param {string} cls @param {HTMLElement} msg
   */
  #button(c, event, label, cls, msg) {
    const b = /** @type {HTMLButtonElement} */ (el('button', cls, label));
    b.type = 'button';
    b.dataset.action = event;
    let armed = 0;
    b.addEventListener('click', () => {
      if (event !== 'accept' && !armed) {
        b.dataset.confirm = '1';
        b.textContent = `Confirm: ${label.toLowerCase()}`;
        armed = window.setTimeout(() => {
          armed = 0;
          delete b.dataset.confirm;
          b.textContent = label;
        }, CONFIRM_MS);
        return;
      }
      window.clearTimeout(armed);
      void this.#act(c, event, msg);
    });
    return b;
  }

  /**
   * Sends a transition at the version the person saw.
   * @param {CallView} c @param {string} event @param {HTMLElement} msg
   */
  async #act(c, event, msg) {
    if (!this.api || this.busy.has(c.id)) return;
    this.busy.add(c.id);
    const card = msg.closest('.sched-call');
    card?.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      await this.api.transition(c.id, event, { version: c.version });
      this.refusals.delete(c.id);
    } catch (err) {
      const text = `Not done: ${errorText(err)}`;
      this.refusals.set(c.id, text);
      showRefusal(msg, text);
      card?.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    } finally {
      this.busy.delete(c.id);
    }
    await this.refresh();
  }

  // ---- request form ----------------------------------------------------

  async #request() {
    if (!this.api) return;
    const when = this.when.value.trim();
    const minutes = Number(this.duration.value);
    if (!when) return this.#formError('Say when the call should be, for example "at 18:00 tomorrow Europe/Moscow" or "now".', this.when);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 720) return this.#formError('The duration is 1 to 720 minutes.', this.duration);
    /** @type {Parameters<CallsApi['requestCall']>[0]} */
    const req = { kind: this.kind.value, when, duration_minutes: minutes };
    const agenda = lines(this.agenda.value);
    const advisers = lines(this.advisers.value);
    if (agenda.length) req.agenda = agenda;
    if (advisers.length) req.participants = advisers.map((name) => ({ name, roles: ['adviser'] }));
    this.submit.disabled = true;
    this.formOk.hidden = true;
    try {
      /** @type {CallView} */
      const c = await this.api.requestCall(req);
      this.formError.hidden = true;
      this.when.value = '';
      this.agenda.value = '';
      this.advisers.value = '';
      this.formOk.textContent = `Requested: ${c.kind === 'phone' ? 'phone' : 'video'} call at ${c.scheduled_start.text}.${c.note ? ` ${c.note}` : ''} It waits for the other side's answer.`;
      this.formOk.hidden = false;
      await this.refresh();
    } catch (err) {
      this.#formError(`The request was refused: ${errorText(err)}`);
    } finally {
      this.submit.disabled = false;
    }
  }

  /** @param {string} text @param {HTMLElement} [focus] */
  #formError(text, focus) {
    this.formError.textContent = text;
    this.formError.hidden = false;
    this.formOk.hidden = true;
    focus?.focus();
  }

  // ---- history ---------------------------------------------------------

  /** @param {CallView[]} calls latest first */
  #showHistory(calls) {
    const rows = calls.map((c) => {
      const card = el('article', 'sched-call past');
      card.dataset.callId = c.id;
      card.dataset.state = c.state;
      card.dataset.kind = c.kind;
      const dl = el('dl', 'kv');
      if (c.state === 'ended') kv(dl, 'Duration', duration(c.actual_duration_seconds ?? 0));
      else {
        const last = c.transitions?.[c.transitions.length - 1];
        if (last) kv(dl, STATE_LABEL[c.state] ?? c.state, `by ${last.name} (${last.side}), ${last.at.text}`);
      }
      const took = [...new Set((c.sessions ?? []).map((s) => s.name))];
      kv(dl, 'Took part', took.length ? took.join(', ') : 'nobody joined');
      this.#details(dl, c);
      const rec = el('button', 'btn', 'Record');
      rec.dataset.action = 'record';
      rec.addEventListener('click', () => this.api && showRecord(this.api, c.id, (c.line?.sides ?? []).map((s) => s.name), this.writer));
      card.append(this.#top(c), times(c.scheduled_start, this.side), dl, rec);
      return card;
    });
    this.past.replaceChildren(...rows);
    if (rows.length === 0) this.past.append(el('p', 'muted', 'No past calls on this line.'));
  }
}

// ---- helpers ------------------------------------------------------------

/**
 * An instant on both sides' clocks, one box per side.
 * @param {Time} t @param {string} own this person's side, marked
 */
function times(t, own) {
  const box = el('div', 'sched-times');
  for (const l of t.local ?? []) {
    const w = wall(l.time);
    const e = el('div', l.side === own ? 'sched-time own' : 'sched-time');
    e.dataset.side = l.side;
    e.dataset.zone = l.zone;
    e.append(
      el('span', 'sched-time-clock', w.clock),
      el('span', 'sched-time-date', w.date),
      el('span', 'sched-time-zone', `${l.side === own ? `${l.side} (your side)` : l.side} · ${l.zone} (${l.abbrev}, UTC${l.offset})`),
    );
    box.append(e);
  }
  return box;
}

/**
 * A wall-clock time of the API ("2026-11-21T18:00:00") as "18:00" and
 * "Sat 21 Nov 2026": read as written, never through this computer's zone.
 * @param {string} s
 */
function wall(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(s);
  if (!m) return { clock: s, date: '' };
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = DAYS[new Date(Date.UTC(y, mo - 1, d)).getUTCDay()];
  return { clock: `${m[4]}:${m[5]}`, date: `${day} ${d} ${MONTHS[mo - 1]} ${y}` };
}

/** @param {Time} t @param {string} side @returns {string} HH:MM on that side's clock */
function clockOf(t, side) {
  const l = t.local?.find((x) => x.side === side) ?? t.local?.[0];
  return l ? `${wall(l.time).clock} ${l.abbrev}` : t.utc;
}

/** The time now in a zone, "18:04 · Sat 21 Nov". @param {Date} now @param {string} zone */
function nowIn(now, zone) {
  try {
    const clock = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
    const date = new Intl.DateTimeFormat('en-GB', { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short' }).format(now);
    return `${clock} · ${date}`;
  } catch {
    return '–'; // a zone this browser does not know
  }
}

/** "in 2 h 05 min", "3 min ago". @param {number} ms */
function fromNow(ms) {
  if (!Number.isFinite(ms)) return '';
  const min = Math.round(Math.abs(ms) / 60000);
  if (min === 0) return 'starting now';
  const span = min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
  return ms > 0 ? `in ${span}` : `${span} ago`;
}

/** "2 h", "1 h 30 min", "45 min", "1 h 02 min 07 s" for a held call. @param {number} seconds */
function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [];
  if (h) parts.push(`${h} h`);
  if (m || (h && s)) parts.push(`${h ? String(m).padStart(2, '0') : m} min`);
  if (s) parts.push(`${s} s`);
  return parts.join(' ') || '0 min';
}

/** The non-empty lines of a text box, trimmed. @param {string} s */
function lines(s) {
  return s.split('\n').map((x) => x.trim()).filter(Boolean);
}

/** @param {string} tag @param {HTMLElement} child */
function wrap(tag, child) {
  const e = el(tag);
  e.append(child);
  return e;
}

/** @param {string} href @param {string} label @param {string} action */
function link(href, label, action) {
  const a = /** @type {HTMLAnchorElement} */ (el('a', 'btn', label));
  a.href = href;
  a.dataset.action = action;
  return a;
}

/** @param {HTMLElement} msg @param {string} text */
function showRefusal(msg, text) {
  msg.textContent = text;
  msg.hidden = false;
}

/** What went wrong, in words, with the server's status when there is one. @param {unknown} err */
function errorText(err) {
  if (err instanceof ApiError) return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
  return err instanceof Error ? err.message : String(err);
}
