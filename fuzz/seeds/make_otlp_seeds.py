#!/usr/bin/env python3
"""Writes seeds/otlp/: OTLP/HTTP logs exports for the `otlp` fuzz target. The first byte picks
the encoding (even: protobuf, odd: JSON); the rest is the payload. The protobuf is encoded by
hand (varints and length-delimited fields), so no protobuf library is needed."""
import json, os, struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "otlp")

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def field(num, wire, payload):
    return varint(num << 3 | wire) + payload

def ld(num, data):
    return field(num, 2, varint(len(data)) + data)

def string_value(s):
    return ld(1, s.encode())  # AnyValue.string_value

def kv(key, value_bytes):
    return ld(1, key.encode()) + ld(2, value_bytes)

ROUTER = ('at=info method=GET path="/orders/42" host=shop.example.com '
          'request_id=8601b555-6a83-4c12-8d16-4f5a4b5c1a11 fwd="203.0.113.9" dyno=web.1 '
          'connect=0ms service=14ms status=200 bytes=512 protocol=https')

def record(body, severity=0, trace=b"", span=b"", attrs=()):
    out = field(1, 1, struct.pack("<Q", 1793527200118264000))   # time_unix_nano
    if severity:
        out += field(2, 0, varint(severity))
    out += ld(5, string_value(body))
    for k, v in attrs:
        out += ld(6, kv(k, string_value(v)))
    if trace:
        out += ld(9, trace)
    if span:
        out += ld(10, span)
    return out

def export(records, service="shop"):
    resource = ld(1, kv("service.name", string_value(service)))
    scope_logs = b"".join(ld(2, r) for r in records)
    resource_logs = ld(1, resource) + ld(2, scope_logs)
    return ld(1, resource_logs)

os.makedirs(HERE, exist_ok=True)
pb = export([
    record(ROUTER, 9),
    record("payment failed", 17, bytes.fromhex("5b8efff798038103d269b633813fc60c"),
           bytes.fromhex("eee19b7ec3c1b174"), [("heroku.dyno", "web.1")]),
    record("State changed from starting to up", 0, attrs=[("dyno", "web.2")]),
])
with open(os.path.join(HERE, "router_app_system.pb"), "wb") as f:
    f.write(b"\x00" + pb)

js = {"resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
    "scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1793527200118264000", "severityNumber": 17,
         "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
         "body": {"stringValue": "boom password=hunter2"},
         "attributes": [{"key": "n", "value": {"intValue": "42"}},
                        {"key": "list", "value": {"arrayValue": {"values": [{"doubleValue": 1.5}]}}}]},
        {"observedTimeUnixNano": 1793527200118265000,
         "body": {"kvlistValue": {"values": [{"key": "msg", "value": {"stringValue": "hi"}}]}}},
    ]}]}]}
with open(os.path.join(HERE, "quirks.json"), "wb") as f:
    f.write(b"\x01" + json.dumps(js).encode())
