#!/usr/bin/env python3
"""Writes the committed seed corpus (corpus/<target>/) from a few hand-made inputs.

Run from host/fuzz: ./seeds.py. The two test certificates in seeds-src/ are throwaway
self-signed ones (openssl req -x509; their keys were not kept)."""
import gzip, os, struct, zlib, shutil

here = os.path.dirname(os.path.abspath(__file__))
certs = [open(os.path.join(here, "seeds-src", n), "rb").read() for n in ("p256.der", "rsa.der")]
NONCE = "q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs="
ORIGIN = "https://am.nhsidentity.spineservices.nhs.uk"


def tlv(tag, value):
    t = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        l = bytes([n])
    elif n < 0x100:
        l = bytes([0x81, n])
    elif n < 0x10000:
        l = bytes([0x82]) + n.to_bytes(2, "big")
    else:
        l = bytes([0x83]) + n.to_bytes(3, "big")
    return t + l + value


def frame(payload):
    return struct.pack("=I", len(payload)) + payload


def cert_object(der, info=0):
    return tlv(0x53, tlv(0x70, der) + tlv(0x71, bytes([info])) + tlv(0xFE, b""))


import base64
b64 = [base64.b64encode(c).decode() for c in certs]
requests = [
    '{"id":1,"command":"status"}',
    '{"id":2,"command":"authenticate","arguments":{"origin":"%s","challengeNonce":"%s","pin":"123456"}}' % (ORIGIN, NONCE),
    '{"id":3,"command":"sign","arguments":{"origin":"%s","hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","hashFunction":"SHA-256","certificate":"%s","pin":"1234"}}' % (ORIGIN, b64[0]),
    '{"id":4,"command":"change-pin","arguments":{"pin":"123456","newPin":"654321"}}',
    '{"id":5,"command":"unlock","arguments":{"puk":"12345678","newPin":"654321"}}',
    '{"id":6,"command":"pin-status","arguments":{"certificate":"%s"}}' % b64[1],
    '{"id":7,"command":"cards","arguments":null}',
    '{"id":8,"command":"watch","arguments":{}}',
    '{"id":9,"id":10,"command":"status"}',
    '{"id":11,"command":"st\\u0061tus","arguments":{"a":[1,-0,2.5e-3,true,false,null,"\\ud83d\\ude00\\n"]}}',
    '{"id":12,"command":"authenticate","arguments":{"origin":"http://localhost:8080","challengeNonce":"%s","pin":"\\u0031\\u0032\\u0033\\u0034"}}' % NONCE,
    '[{"id":13}]',
]
gz = gzip.compress(certs[0])
zl = zlib.compress(certs[1])
seeds = {
    "framing": [
        b"\x00" + frame(b"{}"),
        b"\x02\x03\x01" + frame(requests[1].encode()) + frame(b"[1]"),
        b"\x00" + struct.pack("=I", 70000) + b"x" * 100,
        b"\x00" + struct.pack("=I", 10) + b"abc",
        b"\x00\x01\x00",
    ],
    "request": [r.encode() for r in requests],
    "tlv": [
        cert_object(certs[0]),
        tlv(0x7F49, tlv(0x86, b"\x04" + b"\x11" * 64)),
        tlv(0x7C, tlv(0x82, b"\x30" * 70)),
        tlv(0x5FC105, b"\x01\x02"),
        bytes.fromhex("538300000170820000"),
    ],
    "apdu_exchange": [
        bytes.fromhex("00CB3FFF000300") + bytes([4]) + bytes.fromhex("01026100") + bytes([255]) + b"\x07" * 253 + b"\x61\x03" + bytes([5]) + bytes.fromhex("AABBCC9000"),
        bytes.fromhex("00CA0000000000") + bytes([2]) + bytes.fromhex("6C05") + bytes([7]) + bytes.fromhex("01020304059000"),
        bytes.fromhex("00870711012C00") + bytes([2]) + bytes.fromhex("9000") + bytes([4]) + bytes.fromhex("AABB9000"),
        bytes.fromhex("00200080000800") + bytes([2]) + bytes.fromhex("63C2"),
    ],
    "certificate": certs,
    "read_certificate": [
        b"\x00" + cert_object(certs[0]),
        b"\x04" + cert_object(certs[1]),
        b"\x00" + cert_object(gz, 1),
        b"\x00" + cert_object(zl, 1),
        b"\x02",
        b"\x00" + tlv(0x53, tlv(0x70, b"") + tlv(0x71, b"\x00")),
    ],
    "gzip_certificate": [gz, zl, gzip.compress(b"\x00" * 20000)],
}
for target, inputs in seeds.items():
    d = os.path.join(here, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, data in enumerate(inputs):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)
