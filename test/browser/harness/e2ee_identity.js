// identity.js against the real IndexedDB of the page's origin.
//   run({phase: 'create'}): a fresh identity, its API, what is stored and how
//   run({phase: 'reload', sigPub}): after a page reload the same keys are there and sign
import { createIdentity, forgetIdentity, loadIdentity, saveEnrolment, savePendingRequest } from '/static/e2ee/identity.js';
import { checker, hex } from './e2ee_util.js';

export async function run(arg) {
  const c = checker();
  if (arg.phase === 'create') {
    await forgetIdentity();
    c.eq(await loadIdentity(), null, 'no identity after forgetIdentity');
    let refused = '';
    try {
      await saveEnrolment({ credential: { body: 'x', sig: 'y' }, pins: [], line: 'l' });
    } catch (e) {
      refused = String(e?.message ?? e);
    }
    c.ok(/no device identity/.test(refused), `saveEnrolment without an identity is refused (got ${JSON.stringify(refused)})`);

    const id = await createIdentity();
    const got = await loadIdentity();
    c.ok(got !== null, 'an identity is stored');
    c.ok(got.sigPrivate instanceof CryptoKey, 'sigPrivate is a CryptoKey');
    c.eq(got.sigPrivate.extractable, false, 'sigPrivate is not extractable');
    c.eq(got.sigPrivate.algorithm.name, 'Ed25519', 'sigPrivate is Ed25519');
    c.eq(got.sigPrivate.type, 'private', 'sigPrivate is a private key');
    c.eq([got.sigPub.length, got.kemSeed.length, got.kemPub.length], [32, 32, 1216], 'key sizes');
    c.eq(hex(got.sigPub), hex(id.sigPub), 'stored sigPub is the created one');
    c.eq(hex(got.kemSeed), hex(id.kemSeed), 'stored kemSeed is the created one');
    let exported = true;
    try {
      await crypto.subtle.exportKey('pkcs8', got.sigPrivate);
    } catch {
      exported = false;
    }
    c.ok(!exported, 'the stored signing key cannot be exported');
    const dbs = await indexedDB.databases();
    c.eq(dbs.filter((d) => d.name === 'hotline').map((d) => d.version), [1], 'one database "hotline", version 1');

    await savePendingRequest({ request: { body: 'rb', sig: 'rs' }, requestId: 'req1', line: 'east-west' });
    let p = await loadIdentity();
    c.eq([p.request, p.requestId, p.line, p.credential ?? null], [{ body: 'rb', sig: 'rs' }, 'req1', 'east-west', null], 'pending request stored');
    c.eq(hex(p.sigPub), hex(id.sigPub), 'keys kept across updates');
    const pins = [{ side: 'east', key: 'k1' }, { side: 'west', key: 'k2' }];
    await saveEnrolment({ credential: { body: 'cb', sig: 'cs' }, pins, line: 'east-west' });
    p = await loadIdentity();
    c.eq([p.credential, p.pins, p.line, p.request ?? null, p.requestId ?? null], [{ body: 'cb', sig: 'cs' }, pins, 'east-west', null, null], 'enrolment stored, pending request cleared');
    c.ok(p.sigPrivate instanceof CryptoKey && !p.sigPrivate.extractable, 'signing key still a non-extractable CryptoKey after updates');

    // A second createIdentity replaces the first (new keys, no credential).
    const id2 = await createIdentity();
    p = await loadIdentity();
    c.ok(hex(p.sigPub) === hex(id2.sigPub) && hex(id2.sigPub) !== hex(id.sigPub), 'createIdentity replaces the identity');
    c.eq(p.credential ?? null, null, 'a new identity has no credential');
    return { checked: c.checked, failures: c.failures, data: { sigPub: hex(id2.sigPub) } };
  }
  if (arg.phase === 'reload') {
    const p = await loadIdentity();
    c.ok(p !== null, 'the identity survives a reload');
    if (!p) return { checked: c.checked, failures: c.failures };
    c.eq(hex(p.sigPub), arg.sigPub, 'same public key after reload');
    c.eq(p.sigPrivate.extractable, false, 'still not extractable after reload');
    const msg = new TextEncoder().encode('hotline identity test');
    const sig = await crypto.subtle.sign('Ed25519', p.sigPrivate, msg);
    const pub = await crypto.subtle.importKey('raw', p.sigPub, 'Ed25519', false, ['verify']);
    c.ok(await crypto.subtle.verify('Ed25519', pub, sig, msg), 'the reloaded private key signs for the stored public key');
    await forgetIdentity();
    c.eq(await loadIdentity(), null, 'forgetIdentity erases it');
    return { checked: c.checked, failures: c.failures };
  }
  throw new Error(`unknown phase ${arg.phase}`);
}
