// Browser side of TestRoutingVectorsJS: checks every case of
// testdata/routing.json with the embedded client's route.js, the copy of
// internal/route that decides where keys go.

import { keyed, routes } from "/static/route.js";

export async function run() {
  const r = await fetch("/testdata/routing.json");
  if (!r.ok) throw new Error(`routing.json: ${r.status}`);
  const { cases } = await r.json();
  const failures = [];
  let checked = 0;
  for (const c of cases) {
    checked++;
    const got = routes(c.segment, c.member, { publisher: c.publisher, source: c.source, mode: c.mode });
    if (got !== c.routes) failures.push(`${c.name}: routes ${got}, want ${c.routes}`);
    const k = keyed(c.segment, c.member, c.publisher);
    if (k !== c.keyed) failures.push(`${c.name}: keyed ${k}, want ${c.keyed}`);
  }
  return { checked, failures, data: null };
}
