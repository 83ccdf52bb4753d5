// Browser side of test/browser/trust_test.go. run({mode}) either checks
// every shared vector (testdata/trust.json, RFC 9180 A.1.1, the X-Wing
// draft's vectors) with the embedded client's modules, or does one step of
// the live interop with Go, keeping this browser's device keys in module
// state between steps.

import * as b64u from "/static/e2ee/b64u.js";
import * as T from "/static/e2ee/trust.js";
import { openKey, sealKey } from "/static/e2ee/keymsg.js";
import { verificationCode } from "/static/e2ee/code.js";
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, XWing } from "/static/vendor/hpke.js";

const fromHex = (h) => new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
const toHex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
const eq = (a, b) => T.equalBytes(new Uint8Array(a), new Uint8Array(b));

async function load(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

/** One check: counts it, records a failure line when it throws or returns a message. */
function checker() {
  const failures = [];
  let checked = 0;
  return {
    failures,
    get checked() { return checked; },
    async check(name, fn) {
      checked++;
      try {
        const msg = await fn();
        if (msg) failures.push(`${name}: ${msg}`);
      } catch (e) {
        failures.push(`${name}: threw ${e && e.stack || e}`);
      }
    },
  };
}

// Ed25519 seed and public key belong together when a signature made with
// the one verifies with the other.
async function seedMatches(seed, pub) {
  const priv = await T.importSigningSeed(seed);
  const m = new TextEncoder().encode("probe");
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, priv, m));
  const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, sig, m);
}

async function trustVectors(c, v) {
  for (const a of v.authorities) {
    await c.check(`authority ${a.label}`, async () => {
      if ((await T.fingerprint(b64u.decode(a.public_key))) !== a.fingerprint) return "fingerprint";
      if (!(await seedMatches(b64u.decode(a.seed), b64u.decode(a.public_key)))) return "seed and public key";
    });
  }
  for (const d of v.devices) {
    const pub = b64u.decode(d.sig_key);
    await c.check(`device ${d.label}`, async () => {
      if (!(await seedMatches(b64u.decode(d.sig_seed), pub))) return "sig seed and key";
      if (b64u.encode(await T.kemPublicFromSeed(b64u.decode(d.kem_seed))) !== d.kem_key) return "kem key from seed";
      if ((await T.deviceId(pub)) !== d.device_id) return "device id";
      if ((await T.senderTag(pub, d.participant)) !== d.sender_tag) return "sender tag";
      if ((await T.senderTag(pub, d.rejoin.participant)) !== d.rejoin.sender_tag) return "sender tag of another stay";
    });
    for (const k of d.kids) {
      await c.check(`device ${d.label} kid ${k.epoch}`, async () => {
        if ((await T.kidFor(pub, d.participant, k.epoch)) !== k.kid) return `kid ${await T.kidFor(pub, d.participant, k.epoch)}, want ${k.kid}`;
        const s = T.splitKid(k.kid);
        if (s.tag !== d.sender_tag || s.epoch !== k.epoch) return "splitKid";
      });
    }
  }
  for (const r of v.requests) {
    await c.check(`request ${r.label}`, async () => {
      if (r.inputs) {
        const d = v.devices[r.device];
        const made = await T.makeRequest({
          ...r.inputs, sigPrivate: await T.importSigningSeed(b64u.decode(d.sig_seed)),
          sigPub: b64u.decode(d.sig_key), kemPub: b64u.decode(d.kem_key),
        });
        if (made.body !== r.request.body) return `body differs:\n${new TextDecoder().decode(b64u.decode(made.body))}`;
        if (made.sig !== r.request.sig) return "signature differs";
      }
      const got = await T.verifyRequest(r.request);
      const want = r.expect.ok ? "ok" : r.expect.reason;
      if ((got.ok ? "ok" : got.reason) !== want) return `${got.ok ? "ok" : got.reason + " " + got.detail}, want ${want}`;
    });
  }
  for (const cr of v.credentials) {
    await c.check(`credential ${cr.label}`, async () => {
      const got = await T.verifyCredential(cr.credential, v.pins, cr.now);
      const e = cr.expect;
      if (!e.ok) return got.ok ? `accepted, want ${e.reason}` : got.reason !== e.reason ? `${got.reason} (${got.detail}), want ${e.reason}` : null;
      if (!got.ok) return `${got.reason} (${got.detail}), want ok`;
      const fields = { side: got.side, name: got.name, roles: got.roles, sig_key: b64u.encode(got.sigKey), authority: b64u.encode(got.authority),
        issued: got.issued, expires: got.expires, device_id: got.deviceId };
      for (const [k, x] of Object.entries(fields)) {
        if (JSON.stringify(x) !== JSON.stringify(e[k])) return `${k} ${JSON.stringify(x)}, want ${JSON.stringify(e[k])}`;
      }
      if (got.kemKey.length !== T.KEM_KEY_SIZE) return "kem key size";
    });
  }
  for (const j of v.join_proofs) {
    await c.check(`join proof ${j.label}`, async () => {
      const d = v.devices[j.device];
      const nonce = b64u.decode(j.nonce);
      const valid = await T.verifyJoinProof(b64u.decode(d.sig_key), nonce, j.server, j.line, j.call, j.proof);
      if (valid !== j.valid) return `verifies: ${valid}, want ${j.valid}`;
      if (j.valid) {
        const made = await T.joinProof(await T.importSigningSeed(b64u.decode(d.sig_seed)), nonce, j.server, j.line, j.call);
        if (made !== j.proof) return "the proof made here differs";
      }
    });
  }
  for (const k of v.key_messages) {
    await c.check(`key message ${k.label}`, async () => {
      const to = v.devices[k.to], from = v.devices[k.from];
      let got;
      try {
        const key = await openKey({
          recipientKemSeed: b64u.decode(to.kem_seed), recipientSigPub: b64u.decode(to.sig_key), senderSigPub: b64u.decode(from.sig_key),
          kid: k.kid, line: k.line, call: k.call, senderId: k.from_id, recipientId: k.to_id, sealed: k.sealed, sig: k.sig,
        });
        got = b64u.encode(key) === k.base_key ? "ok" : `opened to ${b64u.encode(key)}`;
      } catch (e) {
        got = e.reason || `threw ${e}`;
      }
      const want = k.expect.ok ? "ok" : k.expect.reason;
      if (got !== want) return `${got}, want ${want}`;
    });
  }
  for (const code of v.codes) {
    await c.check(`code ${code.label}`, async () => {
      const got = await verificationCode(code.line, code.call,
        code.members.map((m) => ({ sigKey: b64u.decode(m.sig_key), kid: m.kid, baseKey: b64u.decode(m.base_key) })));
      if (got !== code.code) return `${got}, want ${code.code}`;
    });
  }
  for (const b of v.b64) {
    await c.check(`b64u ${JSON.stringify(b.s)}`, () => {
      let ok = true;
      try {
        ok = b64u.encode(b64u.decode(b.s)) === b.s;
      } catch {
        ok = false;
      }
      if (ok !== b.ok) return `accepted: ${ok}, want ${b.ok}`;
    });
  }
  for (const n of v.names) {
    await c.check(`${n.kind} name ${JSON.stringify(n.s)}`, () => {
      const ok = (n.kind === "side" ? T.validSide(n.s) : T.validDisplayName(n.s)) === null;
      if (ok !== n.ok) return `valid: ${ok}, want ${n.ok}`;
    });
  }
}

// RFC 9180 A.1.1 with the vendored library: derive skR from ikmR, open every
// published encryption with the published enc, check the exports. The RFC
// lists sequence numbers 0, 1, 2, 4, 255, 256; the messages between are
// made here with AES-GCM from the published key and base_nonce, to step the
// context (which only advances on a successful open).
async function rfc9180(c, v) {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  const kp = await suite.kem.deriveKeyPair(fromHex(v.ikmR).buffer);
  await c.check("rfc9180 pkRm", async () => {
    const pk = await suite.kem.serializePublicKey(kp.publicKey);
    if (toHex(pk) !== v.pkRm) return `pkRm ${toHex(pk)}`;
  });
  const ctx = await suite.createRecipientContext({ recipientKey: kp, enc: fromHex(v.enc).buffer, info: fromHex(v.info).buffer });
  const aesKey = await crypto.subtle.importKey("raw", fromHex(v.key), "AES-GCM", false, ["encrypt"]);
  const baseNonce = fromHex(v.base_nonce);
  let next = 0;
  for (const e of v.encryptions) {
    await c.check(`rfc9180 seq ${e.seq}`, async () => {
      for (; next < e.seq; next++) {
        const nonce = baseNonce.slice();
        new DataView(nonce.buffer).setUint32(8, new DataView(baseNonce.buffer).getUint32(8) ^ next);
        const aad = new TextEncoder().encode(`Count-${next}`);
        const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad }, aesKey, fromHex(e.pt));
        await ctx.open(ct, aad.buffer);
      }
      const pt = await ctx.open(fromHex(e.ct).buffer, fromHex(e.aad).buffer);
      next++;
      if (toHex(pt) !== e.pt) return `pt ${toHex(pt)}`;
    });
  }
  for (const x of v.exports) {
    await c.check(`rfc9180 export ${x.exporter_context}`, async () => {
      const got = await ctx.export(fromHex(x.exporter_context).buffer, x.L);
      if (toHex(got) !== x.exported_value) return `export ${toHex(got)}`;
    });
  }
}

// X-Wing draft vectors: seed → pk, and Decapsulate(ct, seed) = ss.
async function xwing(c, v) {
  const kem = new XWing();
  for (const [i, x] of v.vectors.entries()) {
    await c.check(`x-wing vector ${i}`, async () => {
      const kp = await kem.generateKeyPairDerand(fromHex(x.seed));
      if (toHex(await kem.serializePublicKey(kp.publicKey)) !== x.pk) return "pk";
      const sk = await kem.importKey("raw", fromHex(x.seed).buffer, false);
      const ss = await kem.decap({ recipientKey: sk, enc: fromHex(x.ct).buffer });
      if (toHex(ss) !== x.ss) return `ss ${toHex(ss)}`;
    });
  }
}

// Live interop state: this browser's device.
let me = null;

const steps = {
  async vectors() {
    const c = checker();
    await trustVectors(c, await load("/testdata/trust.json"));
    await rfc9180(c, await load("/testdata/rfc9180-a1-1.json"));
    await xwing(c, await load("/testdata/xwing-kem.json"));
    return { checked: c.checked, failures: c.failures };
  },

  // Make device keys and an enrolment request.
  async device(arg) {
    me = await T.newDeviceKeys();
    const failures = [];
    if (me.sigKeyPair.privateKey.extractable) failures.push("signing key is extractable");
    const request = await T.makeRequest({ ...arg.request, sigPrivate: me.sigKeyPair.privateKey, sigPub: me.sigPub, kemPub: me.kemPub });
    return { checked: 1, failures, data: { request, sigPub: b64u.encode(me.sigPub), kemPub: b64u.encode(me.kemPub) } };
  },

  // Verify the credential Go signed for this device.
  async verify(arg) {
    const r = await T.verifyCredential(arg.credential, arg.pins, arg.now);
    const failures = [];
    if (!r.ok) failures.push(`credential: ${r.reason} ${r.detail || ""}`);
    else if (!T.equalBytes(r.sigKey, me.sigPub) || !T.equalBytes(r.kemKey, me.kemPub)) failures.push("credential is for other keys");
    return { checked: 1, failures, data: r.ok ? { name: r.name, side: r.side, roles: r.roles, deviceId: r.deviceId } : { reason: r.reason } };
  },

  // Seal this device's base key to a Go device.
  async seal(arg) {
    const kid = await T.kidFor(me.sigPub, "browser", arg.epoch);
    const m = await sealKey({
      senderSigPrivate: me.sigKeyPair.privateKey, senderSigPub: me.sigPub,
      recipientSigPub: b64u.decode(arg.recipientSigPub), recipientKemPub: b64u.decode(arg.recipientKemPub),
      kid, line: arg.line, call: arg.call, senderId: "browser", recipientId: "go", baseKey: b64u.decode(arg.baseKey),
    });
    return { checked: 1, failures: [], data: { kid, ...m } };
  },

  // Open a key message Go sealed to this device.
  async open(arg) {
    const key = await openKey({
      recipientKemSeed: me.kemSeed, recipientSigPub: me.sigPub, senderSigPub: b64u.decode(arg.senderSigPub),
      kid: arg.kid, line: arg.line, call: arg.call, senderId: "go", recipientId: "browser", sealed: arg.sealed, sig: arg.sig,
    });
    let refused = "";
    try {
      await openKey({ recipientKemSeed: me.kemSeed, recipientSigPub: me.sigPub, senderSigPub: b64u.decode(arg.senderSigPub),
        kid: arg.kid, line: arg.line, call: arg.call + "-other", senderId: "go", recipientId: "browser", sealed: arg.sealed, sig: arg.sig });
    } catch (e) {
      refused = e.reason;
    }
    return { checked: 1, failures: refused === "open_failed" ? [] : [`other call: ${refused || "opened"}`], data: { baseKey: b64u.encode(key) } };
  },

  // A join proof for Go's challenge.
  async join(arg) {
    return { checked: 1, failures: [], data: { proof: await T.joinProof(me.sigKeyPair.privateKey, b64u.decode(arg.nonce), arg.server, arg.line, arg.call) } };
  },

  // The officer's page: load a Go-written authority file and sign a request.
  async authority(arg) {
    const failures = [];
    for (const [pass, want] of [["", "passphrase_needed"], [arg.passphrase + "x", "wrong_passphrase"]]) {
      try {
        await T.loadAuthorityFile(arg.file, pass);
        failures.push(`loaded with passphrase ${JSON.stringify(pass)}`);
      } catch (e) {
        if (e.reason !== want) failures.push(`passphrase ${JSON.stringify(pass)}: ${e.reason || e}, want ${want}`);
      }
    }
    const a = await T.loadAuthorityFile(arg.file, arg.passphrase);
    if (a.privateKey.extractable) failures.push("authority key is extractable");
    if (!a.encrypted || a.side !== arg.side) failures.push(`loaded ${a.side}, encrypted ${a.encrypted}`);
    const credential = await T.signCredential(a, arg.request, arg.issued, arg.expires);
    return { checked: 1, failures, data: { credential, publicKey: b64u.encode(a.publicKey), fingerprint: await T.fingerprint(a.publicKey) } };
  },
};

export async function run(arg) {
  const step = steps[arg.mode];
  if (!step) throw new Error(`unknown mode ${arg.mode}`);
  return step(arg);
}
