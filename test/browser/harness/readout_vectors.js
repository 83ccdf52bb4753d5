// Browser side of TestReadoutVectorsJS (test/browser/readout_test.go): the
// embedded client's e2ee/readout.js gives, for each case of
// testdata/readout.json, the same body bytes, id and (Ed25519 being
// deterministic) signature as Go's internal/audit and `hotline readout publish`.

import * as b64u from "/static/e2ee/b64u.js";
import * as T from "/static/e2ee/trust.js";
import { readoutBody, readoutId, signReadout } from "/static/e2ee/readout.js";

export async function run() {
  const r = await fetch("/testdata/readout.json");
  if (!r.ok) throw new Error(`readout.json: ${r.status}`);
  const file = await r.json();
  const failures = [];
  let checked = 0;
  for (const v of file.vectors) {
    checked++;
    try {
      const body = readoutBody({ line: v.line, call: v.call, side: v.side, text: v.text, corrects: v.corrects, published: v.published });
      if (b64u.encode(body) !== v.body) failures.push(`${v.label}: body ${new TextDecoder().decode(body)}, want ${new TextDecoder().decode(b64u.decode(v.body))}`);
      const id = await readoutId(body);
      if (id !== v.id) failures.push(`${v.label}: id ${id}, want ${v.id}`);
      const key = await T.importSigningSeed(b64u.decode(v.sig_seed));
      const st = await signReadout(body, key, { body: "x", sig: "y" });
      if (st.sig !== v.sig) failures.push(`${v.label}: sig ${st.sig}, want ${v.sig}`);
    } catch (e) {
      failures.push(`${v.label}: threw ${e && e.stack || e}`);
    }
  }
  return { checked, failures, data: {} };
}
