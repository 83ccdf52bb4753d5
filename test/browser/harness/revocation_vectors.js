// Browser side of TestRevocationVectorsJS (test/browser/revocation_test.go):
// the embedded client's e2ee/revocation.js gives every verdict of
// testdata/revocation.json, as internal/trust's VerifyRevocation does, and
// holds lists by the same serial rule; roster.js then calls a member on a
// held list a forgery (verdict revoked).

import { Revocations, verifyRevocation } from "/static/e2ee/revocation.js";

export async function run() {
  const r = await fetch("/testdata/revocation.json");
  if (!r.ok) throw new Error(`revocation.json: ${r.status}`);
  const v = await r.json();
  const failures = [];
  let checked = 0;
  for (const c of v.cases) {
    checked++;
    try {
      const got = await verifyRevocation(c.revocation, v.pins, v.line);
      const reason = got.ok ? "ok" : got.reason;
      if (reason !== c.want) {
        failures.push(`${c.name}: ${reason} (${got.detail ?? ""}), want ${c.want}`);
        continue;
      }
      if (got.ok && (got.side !== c.side || got.serial !== c.serial || JSON.stringify(got.devices) !== JSON.stringify(c.devices ?? []))) {
        failures.push(`${c.name}: read ${JSON.stringify({ side: got.side, serial: got.serial, devices: got.devices })}`);
      }
    } catch (e) {
      failures.push(`${c.name}: threw ${e && e.stack || e}`);
    }
  }
  const held = new Revocations();
  for (const [i, o] of v.sequence.entries()) {
    checked++;
    const got = await held.add(o.revocation, v.pins, v.line);
    const want = o.want;
    if (got !== want) failures.push(`offer ${i}: ${got}, want ${want}`);
  }
  return { checked, failures, data: { east: held.serial("east"), west: held.serial("west"), revoked: [...held.bySide.values()].flatMap((l) => l.devices) } };
}
