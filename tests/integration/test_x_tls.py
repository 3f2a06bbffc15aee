"""The X channel over real TLS to a loopback front that breaks the reply: the request
arrives whole, then the answer is a record the client cannot decrypt. urllib3 reports that
with the same SSLError as a failed handshake, so only the outcome tells them apart."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# cryptography comes with the dev tools (aws-sam-cli needs pyOpenSSL, which needs it).
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from herald.channels import OutcomeKind
from herald.channels.x import XChannel

pytestmark = pytest.mark.integration

LOOPBACK = "127.0.0.1"
# An application-data record header and 64 bytes no key can decrypt: DECRYPTION_FAILED_OR_
# BAD_RECORD_MAC on the client, after its request went out.
GARBAGE_RECORD = b"\x17\x03\x03\x00\x40" + bytes(range(64))


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for 127.0.0.1, made for this test."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "herald test TLS front")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "front.pem", folder / "front.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class BrokenReplyFront:
    """Accepts one TLS connection, reads one whole HTTP request through TLS, then writes
    `GARBAGE_RECORD` on the raw socket in place of an encrypted reply."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.listener = socket.create_server((LOOPBACK, 0))
        self.listener.settimeout(10)
        self.request = b""
        self.thread = threading.Thread(target=self._serve, name="tls-front", daemon=True)

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        try:
            raw, _ = self.listener.accept()
        except OSError:
            return
        with raw:
            raw.settimeout(10)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
            pump = _pump(raw, incoming, outgoing)
            if not _until(pump, tls.do_handshake):
                return
            while not _whole_request(self.request):
                data = _until(pump, lambda: tls.read(65536))
                if not data:
                    return
                self.request += data
            pump(wait=False)
            raw.sendall(GARBAGE_RECORD)
            with contextlib.suppress(OSError):
                raw.recv(1024)  # the client's alert, or its close

    def __enter__(self) -> BrokenReplyFront:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


Pump = Callable[..., bool]


def _pump(raw: socket.socket, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO) -> Pump:
    """Send what TLS wrote; then, unless `wait` is false, feed it what the network brings
    (False when the peer closed)."""

    def pump(wait: bool = True) -> bool:
        pending = outgoing.read()
        if pending:
            raw.sendall(pending)
        if not wait:
            return True
        data = raw.recv(65536)
        if not data:
            return False
        incoming.write(data)
        return True

    return pump


def _until(pump: Pump, step: Callable[[], object]) -> Any:
    """Run a TLS step, feeding it network bytes until it stops asking for more."""
    while True:
        try:
            return step() or True
        except ssl.SSLWantReadError:
            if not pump():
                return None


def _whole_request(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return True


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def front(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[BrokenReplyFront]:
    cert_path, key_path = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.fspath(cert_path))  # the client trusts it
    with BrokenReplyFront(context) as running:
        yield running


@pytest.mark.timeout(30)
def test_a_tls_failure_after_the_request_was_sent_is_unknown_not_retried(
    front: BrokenReplyFront, make_x_channel: Callable[..., XChannel]
) -> None:
    # Given a TLS front that takes the create call whole, then breaks the encrypted reply
    channel = make_x_channel(base_url=front.url)
    # When a post is published through it
    outcome = channel.publish("hertspolice", "Appeal: have you seen this man?", None, [])
    # Then the request did reach the far side, with the post's text
    head, _, body = front.request.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /2/tweets HTTP/1.1")
    assert b"Appeal: have you seen this man?" in body
    # And the outcome is UNKNOWN (reconcile), never FAILED-retryable (that would post twice)
    assert outcome.kind is OutcomeKind.UNKNOWN, outcome.reason
    assert not outcome.retryable
    assert "DECRYPTION_FAILED_OR_BAD_RECORD_MAC" in (outcome.reason or ""), outcome.reason
