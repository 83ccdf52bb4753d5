// The harness checks itself: WebCrypto's primitives that the e2ee code needs exist.
export async function run(arg) {
  const failures = [];
  let checked = 0;
  for (const alg of [{name: "Ed25519"}, {name: "X25519"}]) {
    checked++;
    try { await crypto.subtle.generateKey(alg, false, alg.name === "Ed25519" ? ["sign", "verify"] : ["deriveBits"]); }
    catch (e) { failures.push(`${alg.name}: ${e}`); }
  }
  checked++;
  if (arg.echo !== "x") failures.push("argument not passed");
  return {checked, failures, data: {echo: arg.echo}};
}
