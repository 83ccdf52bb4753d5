// Helpers shared by the e2ee harness modules (test code only).

/** A collector of checks: ok(cond, what) counts one and records a failure. */
export function checker() {
  const failures = [];
  let checked = 0;
  return {
    failures,
    get checked() { return checked; },
    ok(cond, what) {
      checked++;
      if (!cond) failures.push(what);
      return !!cond;
    },
    eq(got, want, what) {
      checked++;
      const g = JSON.stringify(got), w = JSON.stringify(want);
      if (g !== w) failures.push(`${what}: got ${g}, want ${w}`);
      return g === w;
    },
  };
}

/** Polls cond until it returns truthy; throws after `limitMs` (a hang guard, not a measurement). */
export async function waitUntil(cond, what, limitMs = 60000) {
  const until = performance.now() + limitMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function b64u(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromB64u(str) {
  const s = atob(str.replaceAll('-', '+').replaceAll('_', '/') + '==='.slice((str.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function equalBytes(a, b) {
  return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
}
