"""A software passkey for tests: makes the answers navigator.credentials.create()/.get() would send.

Built from fido2's own data structures and a key from `cryptography` (P-256 unless given: an RSA
key of any length for RS256, a P-384 one for ES384), so the server's checks (challenge, origin,
RP ID hash, flags, signature, counter, algorithm, key length) run on real WebAuthn data.
"""

import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from fido2.cose import ES256, ES384, RS256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData, CollectedClientData

FLAGS = AuthenticatorData.FLAG
# How each kind of key signs what an authenticator signs.
SIGNS = {ES256: lambda key, data: key.sign(data, ec.ECDSA(hashes.SHA256())),
         ES384: lambda key, data: key.sign(data, ec.ECDSA(hashes.SHA384())),
         RS256: lambda key, data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())}


class SoftKey:
    """One discoverable passkey for one site, held in memory; counter as a real authenticator keeps it."""

    def __init__(self, origin, rp_id="localhost", cose=ES256, key=None):
        self.origin = origin
        self.rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
        self.cose = cose  # the fido2 COSE class of the key's algorithm
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.user_handle = None

    def create(self, options, origin=None) -> str:
        """Return the JSON answer to creation options (the `options` JSON the server sent)."""
        self.user_handle = websafe_decode(options["user"]["id"])
        public_key = self.cose.from_cryptography_key(self.key.public_key())
        credential = AttestedCredentialData.create(b"\0" * 16, self.credential_id, public_key)
        auth_data = AuthenticatorData.create(self.rp_id_hash, FLAGS.UP | FLAGS.UV | FLAGS.AT, self.counter,
                                             credential)
        client_data = CollectedClientData.create("webauthn.create", options["challenge"], origin or self.origin)
        return self._answer({"clientDataJSON": client_data.b64,
                             "attestationObject": websafe_encode(AttestationObject.create("none", auth_data, {}))})

    def get(self, options, counter=None, origin=None) -> str:
        """Return the JSON answer to request options; the counter goes up by one unless given."""
        self.counter = self.counter + 1 if counter is None else counter
        auth_data = AuthenticatorData.create(self.rp_id_hash, FLAGS.UP | FLAGS.UV, self.counter)
        client_data = CollectedClientData.create("webauthn.get", options["challenge"], origin or self.origin)
        signature = SIGNS[self.cose](self.key, bytes(auth_data) + client_data.hash)
        return self._answer({"clientDataJSON": client_data.b64, "authenticatorData": websafe_encode(auth_data),
                             "signature": websafe_encode(signature), "userHandle": websafe_encode(self.user_handle)})

    def _answer(self, response) -> str:
        """Wrap an authenticator response as PublicKeyCredential.toJSON() does."""
        credential_id = websafe_encode(self.credential_id)
        return json.dumps({"id": credential_id, "rawId": credential_id, "type": "public-key",
                           "response": response, "clientExtensionResults": {}})
