"""Keys and tokens for Lift's JWT tests, made by an independent implementation (PyJWT on
`cryptography`).

Prints one JSON object:
  now      the time the tokens were made for (seconds since the epoch)
  keys     the public keys (PEM) and the HMAC secret (hex) the verifier is configured with
  jwks     key sets for the JWKS tests: "first" (kid rot-1), "rotated" (rot-1 and rot-2),
           "second_issuer" (kid ec-1)
  cases    [{"name", "token", "expect"}]: expect is "ok" or the reason Lift must give (the
           Display of its JwtError)

With arguments `example SECRET ISSUER AUDIENCE`, prints instead HS256 tokens for the
multi-tenant-api example: {"acme-user", "acme-admin", "globex-user", "globex-admin",
"acme-no-role", "acme-expired", "acme-other-audience"}. With `example-jwks - ISSUER AUDIENCE`,
the same tokens in RS256 with kid `example-1`, and the key set that publishes the key ("jwks").

Issuers: https://issuer.test (audience lift-tests; every key, no kids),
https://rsa-only.test (the RSA key, RS256 only), https://kid.test (the RSA key as kid k1),
https://jwks.test and https://jwks2.test (keys from a JWKS server).
"""

import base64
import hashlib
import hmac
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

NOW = int(time.time())
ISS = "https://issuer.test"
AUD = "lift-tests"


def pem_public(key):
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(key, kid, alg):
    d = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    d.update({"kid": kid, "alg": alg, "use": "sig"})
    return d


if len(sys.argv) == 5 and sys.argv[1] in ("example", "example-jwks"):
    _, mode, secret, iss, aud = sys.argv
    out = {}
    if mode == "example":
        key, alg, headers = secret, "HS256", None
    else:
        # RS256 with a key published in a JWKS document (the secret argument is unused).
        key, alg, headers = rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", {"kid": "example-1"}
        out["jwks"] = {"keys": [jwk(key, "example-1", "RS256")]}

    def example(tenant, roles, **over):
        c = {"iss": iss, "aud": aud, "sub": f"{tenant}-{'-'.join(roles) or 'nobody'}",
             "exp": NOW + 600, "iat": NOW, "tenant_id": tenant, "roles": roles}
        c.update(over)
        return jwt.encode(c, key, algorithm=alg, headers=headers)

    out.update(
        {
            "acme-user": example("acme", ["user"]),
            "acme-admin": example("acme", ["admin"]),
            "globex-user": example("globex", ["user"]),
            "globex-admin": example("globex", ["admin"]),
            "acme-no-role": example("acme", []),
            "acme-expired": example("acme", ["user"], exp=NOW - 3600),
            "acme-other-audience": example("acme", ["user"], aud="another-api"),
            # A null required claim is a missing one; a date claim must be a number.
            "acme-exp-null": example("acme", ["user"], exp=None),
            "acme-sub-null": example("acme", ["user"], sub=None),
            "acme-tenant-null": example("acme", ["user"], tenant_id=None),
            "acme-nbf-string": example("acme", ["user"], nbf="0"),
        }
    )
    json.dump(out, sys.stdout)
    sys.exit(0)

rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_key_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec256 = ec.generate_private_key(ec.SECP256R1())
ec384 = ec.generate_private_key(ec.SECP384R1())
ed = ed25519.Ed25519PrivateKey.generate()
secret = hashlib.sha512(b"lift-test-secret-%d" % NOW).digest()

SIGNERS = {
    "HS256": secret,
    "HS384": secret,
    "HS512": secret,
    "RS256": rsa_key,
    "RS384": rsa_key,
    "RS512": rsa_key,
    "PS256": rsa_key,
    "PS384": rsa_key,
    "PS512": rsa_key,
    "ES256": ec256,
    "ES384": ec384,
    "EdDSA": ed,
}


def claims(**over):
    c = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "exp": NOW + 600,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "tenant_id": "acme",
        "roles": ["user"],
        "scope": "orders:read orders:write",
        "email": "user-1@example.com",
    }
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def sign(alg, payload, headers=None, key=None):
    return jwt.encode(payload, key if key is not None else SIGNERS[alg], algorithm=alg, headers=headers)


def hs256_by_hand(payload, secret_bytes, header=None):
    """HS256 computed with Python's hmac: for keys PyJWT refuses to use as HMAC secrets."""
    h = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps(payload).encode())
    mac = hmac.new(secret_bytes, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(mac)}"


cases = []


def case(name, token, expect):
    cases.append({"name": name, "token": token, "expect": expect})


for alg in SIGNERS:
    case(f"{alg} valid", sign(alg, claims()), "ok")
case("aud as an array", sign("RS256", claims(aud=["other", AUD])), "ok")
case("non-integer dates", sign("HS256", claims(exp=NOW + 600.5, iat=NOW - 0.5)), "ok")
case("kid k1 with the k1 key", sign("RS256", claims(iss="https://kid.test"), {"kid": "k1"}), "ok")

# Attacks.
good = sign("HS256", claims())
h, p, s = good.split(".")
none_header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
case("alg none, no signature", f"{none_header}.{p}.", "alg none refused")
case("alg none, a signature", f"{none_header}.{p}.{s}", "alg none refused")
case("alg None (case)", f"{b64(json.dumps({'alg': 'None'}).encode())}.{p}.{s}", "alg none refused")
rsa_pem = pem_public(rsa_key).encode()
case(
    "HS256 signed with the RSA public key as the secret",
    hs256_by_hand(claims(iss="https://rsa-only.test"), rsa_pem),
    "alg not allowed for this issuer or key",
)
case(
    "HS256 with the RSA public key, on an issuer with HMAC and RSA keys",
    hs256_by_hand(claims(), rsa_pem),
    "invalid signature",
)
case("kid not in the keys", sign("RS256", claims(iss="https://kid.test"), {"kid": "k2"}), "unknown kid")
case(
    "alg outside the issuer's allow-list",
    sign("RS384", claims(iss="https://rsa-only.test")),
    "alg not allowed for this issuer or key",
)
case("ES512 (unsupported)", sign("ES512", claims(), key=ec.generate_private_key(ec.SECP521R1())), "unsupported alg")
case("expired", sign("ES256", claims(exp=NOW - 3600, iat=NOW - 7200, nbf=NOW - 7200)), "token expired")
case("expired within the leeway", sign("HS256", claims(exp=NOW - 5)), "ok")
case("not yet valid", sign("ES256", claims(nbf=NOW + 3600)), "token not yet valid")
case("issued in the future", sign("ES256", claims(iat=NOW + 3600)), "token issued in the future")
case("wrong iss", sign("RS256", claims(iss="https://evil.test")), "unknown issuer")
case("no iss", sign("RS256", claims(iss=None)), "unknown issuer")
case("aud missing", sign("RS256", claims(aud=None)), "aud missing")
case("aud wrong", sign("RS256", claims(aud="someone-else")), "aud not accepted")
case("aud array without ours", sign("RS256", claims(aud=["a", "b"])), "aud not accepted")
case("exp missing", sign("EdDSA", claims(exp=None)), "required claim exp missing")
# A null date is the wrong type, never "no expiry"; the reason names the claim, not the value.
case("exp null", sign("HS256", {**claims(), "exp": None}), "invalid claims: claim exp: wrong type")
case("nbf a string", sign("HS256", {**claims(), "nbf": "hunter2"}), "invalid claims: claim nbf: wrong type")
case("iss an array", sign("HS256", {**claims(), "iss": ["hunter2"]}), "invalid claims: claim iss: wrong type")
tampered = b64(json.dumps(claims(tenant_id="globex")).encode())
case("tampered payload", f"{h}.{tampered}.{s}", "invalid signature")
rs = sign("RS256", claims())
rh, rp, rsig = rs.split(".")
case("stripped signature", f"{rh}.{rp}.", "invalid signature")
case("truncated signature", f"{rh}.{rp}.{rsig[:-6]}", "invalid signature")
case("signature of another token", f"{rh}.{rp}.{sign('RS256', claims(sub='user-2')).split('.')[2]}", "invalid signature")
case("malformed base64 header", f"{h[:-2]}*!.{p}.{s}", "malformed token: header is not base64url")
case("malformed base64 payload", f"{h}.{p[:-2]}!!.{s}", "malformed token: payload is not base64url")
case("padded base64 payload", f"{h}.{p}==.{s}", "malformed token: payload is not base64url")
case("two segments", f"{h}.{p}", "malformed token: not three segments")
case("four segments", f"{h}.{p}.{s}.{s}", "malformed token: not three segments")
case("payload not JSON", f"{h}.{b64(b'<html>')}.{s}", "invalid claims: not a JSON object")
case("1 MB token", sign("HS256", claims(pad="x" * (1024 * 1024))), "token too large")
case("crit names an unknown extension", sign("HS256", claims(), {"crit": ["http://example.com/ext"], "http://example.com/ext": True}), "crit header names an unsupported extension")
case("crit b64 (RFC 7797)", sign("HS256", claims(), {"crit": ["b64"], "b64": False}), "crit header names an unsupported extension")
case("header jku is not followed", sign("HS256", claims(), {"jku": "https://evil.test/jwks.json", "kid": "x"}), "ok")

jwks = {
    "first": {"keys": [jwk(rsa_key, "rot-1", "RS256")]},
    "rotated": {"keys": [jwk(rsa_key, "rot-1", "RS256"), jwk(rsa_key_2, "rot-2", "RS256")]},
    "second_issuer": {"keys": [jwk(ec256, "ec-1", "ES256")]},
}
jwks_tokens = {
    "rot-1": sign("RS256", claims(iss="https://jwks.test"), {"kid": "rot-1"}),
    "rot-2": sign("RS256", claims(iss="https://jwks.test"), {"kid": "rot-2"}, key=rsa_key_2),
    "ec-1": sign("ES256", claims(iss="https://jwks2.test", tenant_id="globex"), {"kid": "ec-1"}),
    "ec-1 signed by rot-1's key": sign("RS256", claims(iss="https://jwks2.test"), {"kid": "ec-1"}),
    "unknown": [sign("RS256", claims(iss="https://jwks.test"), {"kid": f"bogus-{i}"}) for i in range(50)],
}

json.dump(
    {
        "now": NOW,
        "keys": {
            "hmac_hex": secret.hex(),
            "rsa": pem_public(rsa_key),
            "ec256": pem_public(ec256),
            "ec384": pem_public(ec384),
            "ed25519": pem_public(ed),
        },
        "jwks": jwks,
        "jwks_tokens": jwks_tokens,
        "cases": cases,
    },
    sys.stdout,
)
