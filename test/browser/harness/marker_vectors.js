// Browser side of TestMarkerVectorsJS: checks every case of
// testdata/marker.json with the embedded client's e2ee/marker.js, the copy
// of internal/marker that decides which segment the client acts on.

import { checkSegment, privateState, segmentMessage } from "/static/e2ee/marker.js";

const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

export async function run() {
  const r = await fetch("/testdata/marker.json");
  if (!r.ok) throw new Error(`marker.json: ${r.status}`);
  const v = await r.json();
  const failures = [];
  let checked = 0;
  if (hex(segmentMessage(v.cases[0].marker)) !== v.message_hex) failures.push("message_hex differs");
  for (const c of v.cases) {
    checked++;
    const prev = { ...privateState(), seq: c.prev_seq };
    const { state, error } = await checkSegment(c.segment, c.marker, v.line, v.call, v.pins, v.now, prev);
    if (state.segment !== c.want || (error !== "") !== c.refused) {
      failures.push(`${c.name}: ${state.segment} (${error}), want ${c.want}, refused ${c.refused}`);
    }
  }
  return { checked, failures, data: null };
}
