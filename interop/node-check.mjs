// Verifies a Gatehouse token with panva/jose through the JWKS, then prints
// forged tokens (another key under the same kid, alg none, alg changed to
// HS256 keyed with the JWKS) that Gatehouse must refuse, one per line.
//   node node-check.mjs ISSUER ALG TOKEN
import * as jose from 'jose';

const [issuer, alg, token] = process.argv.slice(2);
const JWKS = jose.createRemoteJWKSet(new URL(issuer + '/.well-known/jwks.json'));
const { payload, protectedHeader } = await jose.jwtVerify(token, JWKS, { issuer, algorithms: [alg], typ: 'at+jwt' });
if (payload.type !== 'access' || !payload.sub) throw new Error('unexpected claims');
console.error(`node jose: verified ${alg} token of ${payload.username} (kid ${protectedHeader.kid})`);

const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
const claims = { ...payload, role: 'admin' };
const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg, kid: protectedHeader.kid, typ: 'at+jwt' }).sign(privateKey);
const none = new jose.UnsecuredJWT(claims).encode();
const jwksText = await (await fetch(issuer + '/.well-known/jwks.json')).text();
const hs = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: protectedHeader.kid, typ: 'at+jwt' }).sign(new TextEncoder().encode(jwksText));
for (const t of [forged, none, hs]) console.log(t);
