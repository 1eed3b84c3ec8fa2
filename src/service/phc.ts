// The PHC string format of password hashes (https://github.com/P-H-C/phc-string-format), without
// the argon2 binding: sign-in re-encodes old rows without loading it.

/**
 * The PHC string format's order of Argon2's parameters, m, t, p (issue #17): the argon2 npm package
 * writes `m=19456,p=1,t=2`, which libargon2 (the reference), argon2-cffi and other decoders refuse
 * ("Decoding failed"), so accounts could never move to another system. The same salt and hash bytes,
 * only the parameters re-ordered; a string that is not a plain Argon2 PHC string is returned as is.
 * Verification accepts both orders (the argon2 package reads either), and sign-in rewrites old rows.
 */
export function standardPhc(hash: string): string {
  const parts = hash.split('$');
  if (parts.length !== 6 || !/^argon2(id|i|d)$/.test(parts[1] ?? '') || !parts[3]) return hash;
  const params = new Map(
    parts[3].split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const [m, t, p] = [params.get('m'), params.get('t'), params.get('p')];
  if (params.size !== 3 || m === undefined || t === undefined || p === undefined) return hash;
  parts[3] = `m=${m},t=${t},p=${p}`;
  return parts.join('$');
}
