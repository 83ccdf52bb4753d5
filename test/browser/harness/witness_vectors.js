// Browser side of TestWitnessVectorsJS (test/browser/record_test.go): the
// embedded client's e2ee/witness.js gives, for each case of
// testdata/witness.json, the same roster fingerprint, body bytes and (Ed25519
// being deterministic) signature as Go's internal/audit.

import * as b64u from "/static/e2ee/b64u.js";
import * as T from "/static/e2ee/trust.js";
import { rosterFingerprint, signWitness, witnessBody } from "/static/e2ee/witness.js";

export async function run() {
  const r = await fetch("/testdata/witness.json");
  if (!r.ok) throw new Error(`witness.json: ${r.status}`);
  const file = await r.json();
  const failures = [];
  let checked = 0;
  for (const v of file.vectors) {
    checked++;
    try {
      const sigKeys = v.sig_keys.map((k) => b64u.decode(k));
      const roster = b64u.encode(await rosterFingerprint(sigKeys));
      if (roster !== v.roster) failures.push(`${v.label}: roster ${roster}, want ${v.roster}`);
      const body = await witnessBody({ line: v.line, call: v.call, participant: v.participant, kid: v.kid,
        baseKey: b64u.decode(v.base_key), sigKeys, code: v.code, segment: v.segment, at: v.at });
      if (b64u.encode(body) !== v.body) failures.push(`${v.label}: body ${new TextDecoder().decode(body)}, want ${new TextDecoder().decode(b64u.decode(v.body))}`);
      const key = await T.importSigningSeed(b64u.decode(v.sig_seed));
      const st = await signWitness(body, key, { body: "x", sig: "y" });
      if (st.sig !== v.sig) failures.push(`${v.label}: sig ${st.sig}, want ${v.sig}`);
    } catch (e) {
      failures.push(`${v.label}: threw ${e && e.stack || e}`);
    }
  }
  return { checked, failures, data: {} };
}
