// Browser side of TestRosterVectorsJS (test/browser/roster_test.go): the
// embedded client's e2ee/roster.js gives every verdict of
// testdata/roster.json, the same as internal/e2ee's CheckRoster.

import * as b64u from "/static/e2ee/b64u.js";
import { checkRoster } from "/static/e2ee/roster.js";

export async function run() {
  const r = await fetch("/testdata/roster.json");
  if (!r.ok) throw new Error(`roster.json: ${r.status}`);
  const v = await r.json();
  const failures = [];
  let checked = 0;
  for (const roster of v.rosters) {
    checked++;
    const participants = roster.entries.map((e) => {
      const p = { id: e.id, device: "0000000000000000", name: `claimed ${e.id}`, state: "in", tracks: [] };
      if (v.credentials[e.credential]) p.credential = v.credentials[e.credential];
      return p;
    });
    const self = { selfId: roster.self.id, sigPub: b64u.decode(v.sig_keys[roster.self.device]) };
    try {
      const got = await checkRoster(participants, self, v.pins, v.now);
      const verdicts = got.map((c) => c.verdict);
      if (JSON.stringify(verdicts) !== JSON.stringify(roster.verdicts)) {
        failures.push(`${roster.label}: verdicts ${JSON.stringify(verdicts)}, want ${JSON.stringify(roster.verdicts)}`);
      }
      got.forEach((c, i) => {
        if (c.verdict !== "self" && c.verdict !== "member" && !c.reason) failures.push(`${roster.label}: entry ${i}: a forgery without a reason`);
      });
    } catch (e) {
      failures.push(`${roster.label}: threw ${e && e.stack || e}`);
    }
  }
  return { checked, failures, data: { rosters: v.rosters.length } };
}
