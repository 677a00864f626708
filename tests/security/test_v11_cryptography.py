"""ASVS 5.0 V11 Cryptography, where it touches passwords and tokens: what signs, and the inventory of every hash."""

import ast
import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fido2.cose import ES384, RS256
from helpers import csrf_token_in
from softkey import SoftKey
from test_passkeys import add_passkey, options, passkey_signin

from conftest import ADA, TEST_BASE_URL, TEST_SECRET_KEY
from smtpserver import link_in, text
from support import BACKTICKED, ROOT, inventory_table

# The modules whose functions hash, MAC or draw random values, and Werkzeug's password hashing.
CRYPTO_MODULES = {"hashlib", "hmac", "secrets", "random"}
CRYPTO_NAMES = {"generate_password_hash", "check_password_hash"}


def itsdangerous_mac(salt: str, value: str) -> str:
    """Return the HMAC-SHA-256 itsdangerous puts after value: the key is SHA-256(salt + "signer" + secret key)."""
    key = hashlib.sha256(salt.encode() + b"signer" + TEST_SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, value.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


def test_11_4_1_cookies_csrf_tokens_and_email_links_carry_an_hmac_sha256_of_the_secret_key(ada, new_browser,
                                                                                              smtp_server):
    """ASVS 5.0 11.4.1, 11.4.3 (L1, L2): the session cookie, the CSRF token and a reset link end in a 256-bit
    HMAC-SHA-256 of what they carry under the secret key, with a salt of their own; a cookie with the HMAC-SHA-1
    itsdangerous would make by default is a stranger's."""
    sid, mac = ada.client.get_cookie("wsgiauth").value.rsplit(".", 1)
    assert mac == itsdangerous_mac("wsgiauth.session-cookie", sid)
    assert len(base64.urlsafe_b64decode(mac + "=")) == 32
    assert csrf_token_in(ada.client.get("/").get_data(as_text=True)) == itsdangerous_mac("wsgiauth.csrf-token", sid)

    new_browser().post_form("/forgot", {"email": ADA["email"]})
    (mail,) = [message for message in smtp_server.messages if "/reset/" in text(message)]
    signed, mac = link_in(mail, "/reset/").rsplit("/", 1)[1].rsplit(".", 1)
    assert mac == itsdangerous_mac("wsgiauth.reset-password", signed)

    sha1_key = hashlib.sha1(b"wsgiauth.session-cookie" + b"signer" + TEST_SECRET_KEY.encode()).digest()
    sha1_mac = base64.urlsafe_b64encode(hmac.new(sha1_key, sid.encode(), hashlib.sha1).digest()).rstrip(b"=")
    stranger = new_browser()
    stranger.client.set_cookie("wsgiauth", f"{sid}.{sha1_mac.decode()}")
    assert stranger.client.get("/profile").status_code == 303


def crypto_used(source: str) -> set:
    """Return the hash, MAC and random functions a Python source uses: "hashlib.sha256", "os.urandom", ..."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in CRYPTO_MODULES or (node.value.id, node.attr) == ("os", "urandom"):
                used.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in CRYPTO_MODULES:
            used.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Name) and node.id in CRYPTO_NAMES:
            used.add(node.id)
    return used


def test_11_1_2_every_hash_and_random_source_of_the_code_is_in_the_inventory():
    """ASVS 5.0 11.1.2 (L2): SECURITY.md's inventory names, file by file, exactly the hash, MAC and random
    functions the package calls, so a new use (or MD5, or `random` for a token) cannot go unlisted."""
    assert crypto_used("import random\nfrom secrets import token_hex\nrandom.random(); token_hex()") == {
        "random.random", "secrets.token_hex"}
    in_code = {}
    for path in sorted((ROOT / "wsgiauth").rglob("*.py")):
        if used := crypto_used(path.read_text(encoding="utf-8")):
            in_code[path.relative_to(ROOT).as_posix()] = used
    listed = {BACKTICKED.findall(row[0])[0]: set(BACKTICKED.findall(row[1])) for row in inventory_table("Where")}
    assert listed == in_code
    assert not any("md5" in name for names in in_code.values() for name in names)


@pytest.mark.both_databases
@pytest.mark.filterwarnings("ignore::DeprecationWarning:fido2")
def test_11_6_1_passkeys_offer_es256_eddsa_rs256_and_refuse_other_algorithms_and_short_rsa_keys(signed_in, query):
    """ASVS 5.0 11.6.1, 11.2.3 (L2): a new passkey is offered ES256, EdDSA and RS256 only; an RSA key under 2048
    bits, or a key of another algorithm, is refused with a clear 400 and nothing is stored; RSA-2048 (Windows
    Hello) is added and signs in."""
    offered = options(signed_in.client, "/security", "/security/passkeys/options")["pubKeyCredParams"]
    assert offered == [{"type": "public-key", "alg": alg} for alg in (-7, -8, -257)]
    for refused, message in [
            (SoftKey(TEST_BASE_URL, cose=RS256, key=rsa.generate_private_key(65537, 1024)),
             "its RSA key is shorter than 2048 bits"),
            (SoftKey(TEST_BASE_URL, cose=RS256, key=rsa.generate_private_key(65537, 2047)),
             "its RSA key is shorter than 2048 bits"),
            (SoftKey(TEST_BASE_URL, cose=ES384, key=ec.generate_private_key(ec.SECP384R1())),
             "it signs with an algorithm this site does not accept")]:
        response = add_passkey(signed_in.client, refused)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert query("passkeys_for_tests") == []
    assert "passkey_added" not in [event["event"] for event in query("security_events_for_tests")]
    windows_hello = SoftKey(TEST_BASE_URL, cose=RS256, key=rsa.generate_private_key(65537, 2048))
    assert add_passkey(signed_in.client, windows_hello).headers["Location"] == "/security"
    assert len(query("passkeys_for_tests")) == 1
    signed_in.signout()
    assert passkey_signin(signed_in.client, windows_hello).headers["Location"] == "/profile"
