"""Verifies a Gatehouse token with PyJWT's PyJWKClient, then prints forged
tokens (another key under the same kid, alg changed to HS256 with the JWKS
as secret) that Gatehouse must refuse, one per line.

    python3 py-check.py ISSUER ALG TOKEN
"""
import json
import sys
import urllib.request

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

issuer, alg, token = sys.argv[1:4]
client = jwt.PyJWKClient(issuer + "/.well-known/jwks.json")
key = client.get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=[alg], issuer=issuer, options={"require": ["exp", "iss", "sub"]})
assert claims["type"] == "access", claims
kid = jwt.get_unverified_header(token)["kid"]
print(f"PyJWT: verified {alg} token of {claims['username']} (kid {kid})", file=sys.stderr)

other = {"ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
         "EdDSA": ed25519.Ed25519PrivateKey.generate,
         "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)}[alg]()
forged = dict(claims, role="admin")
print(jwt.encode(forged, other, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"}))
jwks = urllib.request.urlopen(issuer + "/.well-known/jwks.json").read()
hs = jwt.api_jws.PyJWS()
print(hs.encode(json.dumps(forged).encode(), jwks, algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"}))
