#!/usr/bin/python3
"""A scripted MongoDB wire-protocol peer for the MongoDB store's contract tests.

Usage: mock_peer.py CASE.json

Serves MockupDB (MongoDB Inc.'s wire-protocol server library for driver tests)
on 127.0.0.1, prints "PORT <n>", then plays the case's `exchanges` in order:
each request the driver sends must match `expect`; the peer answers with
`reply`, hangs up (`"hangup": true`) or stays silent (`"silent": true`).
Handshakes (isMaster/hello), ping, endSessions and killCursors are answered
automatically unless the case scripts them.

The C++ test then writes one JSON line to stdin: what the Store call returned
or threw. The peer checks it against the case's `outcome`, checks that no
command arrived beyond those scripted, and prints "RESULT OK" or
"RESULT FAIL" followed by what differed.

Matching (case files use MongoDB Extended JSON, so {"$numberLong": "1"} is an
int64 and a bare 1 an int32): dictionaries match when every expected key
matches (extra keys allowed unless "$$exact": true); under "sort" and "key"
the key order must match too; lists match element by element. Operators:
  {"$$type": "string|int|long|double|bool|date|objectId|uuid|document|array|null"}
  {"$$exists": false}            the key must be absent
  {"$$any": true}                anything
  {"$$contains": ["a", "b"]}     a string containing every fragment
    (with "$$excludes": ["c"]: and none of these)
  {"$$before_now_ms": [lo, hi]}  a date between hi and lo milliseconds before now
  {"$$capture": "name"}          anything, remembered as name
  {"$$same": "name"}             equal to what was captured as name

An exchange may also capture parts of the request by path after it matched,
  "capture": {"doc": "documents.0"}     (dotted keys; list items by number)
and a reply may use what was captured:
  {"$$captured": "doc"}                 the captured value
  {"$$captured": "doc", "$$set": {"revision": {"$numberLong": "2"}}}
                                        a copy of a captured document with these fields set
so a scripted server can give back the document the client just wrote.
An exchange with "repeat": true keeps answering matching requests with its
reply after it was played (for a server polling at its refresh interval).
"""
import copy
import datetime
import json
import os
import re
import sys
import threading

from bson import json_util, ObjectId, Int64
from bson.json_util import JSONOptions, JSONMode
from mockupdb import MockupDB, CommandBase

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")  # UUID v7
ORDERED_PARENTS = {"sort", "key"}
AUTOMATIC = {"ismaster", "hello", "ping", "endsessions", "killcursors"}
CLEANUP = {"endsessions", "killcursors"}
AUTOMATIC_REPLIES = {"endsessions": {"ok": 1}, "killcursors": {"ok": 1, "cursorsKilled": []}}
OPTIONS = JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=False)


def type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, Int64):
        return "long"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, datetime.datetime):
        return "date"
    if isinstance(v, ObjectId):
        return "objectId"
    if isinstance(v, dict):
        return "document"
    if isinstance(v, list):
        return "array"
    if v is None:
        return "null"
    return type(v).__name__


class Matcher:
    def __init__(self):
        self.captured = {}

    def match(self, expected, actual, path, problems, parent=None):
        if isinstance(expected, dict) and any(k.startswith("$$") for k in expected) and "$$exact" not in expected:
            return self.operator(expected, actual, path, problems)
        if isinstance(expected, dict):
            if not isinstance(actual, dict):
                problems.append("%s: expected a document, got %s %r" % (path, type_name(actual), actual))
                return
            exact = expected.get("$$exact", False)
            keys = [k for k in expected if k != "$$exact"]
            for k in keys:
                e = expected[k]
                if isinstance(e, dict) and e.get("$$exists") is False:
                    if k in actual:
                        problems.append("%s.%s: expected no such field, got %r" % (path, k, actual[k]))
                    continue
                if k not in actual:
                    problems.append("%s.%s: missing (have %s)" % (path, k, list(actual.keys())))
                    continue
                self.match(e, actual[k], "%s.%s" % (path, k), problems, k)
            if exact:
                extra = [k for k in actual if k not in keys]
                if extra:
                    problems.append("%s: unexpected fields %s" % (path, extra))
            if parent in ORDERED_PARENTS:
                order = [k for k in actual if k in keys]
                if order != keys:
                    problems.append("%s: key order %s, expected %s" % (path, order, keys))
            return
        if isinstance(expected, list):
            if not isinstance(actual, list) or len(actual) != len(expected):
                problems.append("%s: expected %d items, got %r" % (path, len(expected), actual))
                return
            for i, (e, a) in enumerate(zip(expected, actual)):
                self.match(e, a, "%s[%d]" % (path, i), problems)
            return
        if type_name(expected) != type_name(actual) or expected != actual:
            problems.append("%s: expected %s %r, got %s %r" % (path, type_name(expected), expected,
                                                               type_name(actual), actual))

    def operator(self, expected, actual, path, problems):
        if "$$type" in expected:
            want = expected["$$type"]
            if want == "uuid":
                if not (isinstance(actual, str) and UUID.match(actual)):
                    problems.append("%s: expected a UUID v7 string, got %r" % (path, actual))
            elif type_name(actual) != want:
                problems.append("%s: expected type %s, got %s %r" % (path, want, type_name(actual), actual))
        elif "$$contains" in expected:
            if not isinstance(actual, str):
                problems.append("%s: expected a string, got %r" % (path, actual))
            else:
                for fragment in expected["$$contains"]:
                    if fragment not in actual:
                        problems.append("%s: %r does not contain %r" % (path, actual, fragment))
            for fragment in expected.get("$$excludes", []):
                if isinstance(actual, str) and fragment in actual:
                    problems.append("%s: %r must not contain %r" % (path, actual, fragment))
        elif "$$before_now_ms" in expected:
            lo, hi = expected["$$before_now_ms"]
            if not isinstance(actual, datetime.datetime):
                problems.append("%s: expected a date, got %s %r" % (path, type_name(actual), actual))
            else:
                ago = (datetime.datetime.utcnow() - actual).total_seconds() * 1000
                if not lo <= ago <= hi:
                    problems.append("%s: expected a date %d to %d ms before now, got %r (%d ms before)" %
                                    (path, lo, hi, actual, ago))
        elif "$$capture" in expected:
            self.captured[expected["$$capture"]] = actual
        elif "$$same" in expected:
            name = expected["$$same"]
            if name not in self.captured:
                problems.append("%s: nothing captured as %s" % (path, name))
            elif self.captured[name] != actual or type_name(self.captured[name]) != type_name(actual):
                problems.append("%s: expected %r (captured %s), got %r" % (path, self.captured[name], name, actual))
        elif "$$any" in expected:
            pass
        else:
            problems.append("%s: unknown operator in %r" % (path, expected))


def at_path(doc, path):
    for part in path.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def substitute(value, captured):
    if isinstance(value, dict):
        if "$$captured" in value:
            out = copy.deepcopy(captured[value["$$captured"]])
            for k, v in value.get("$$set", {}).items():
                out[k] = substitute(v, captured)
            return out
        return {k: substitute(v, captured) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, captured) for v in value]
    return value


def hello_reply(topology, address):
    doc = {"ismaster": True, "minWireVersion": 0, "maxWireVersion": 13,
           "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000}
    if topology == "replset":
        doc.update({"setName": "rs0", "secondary": False, "hosts": [address], "me": address,
                    "logicalSessionTimeoutMinutes": 30})
    return doc


def load(text):
    return json_util.loads(text, json_options=OPTIONS)


def main():
    with open(sys.argv[1]) as f:
        case = load(f.read())
    server = MockupDB(port=None)
    port = server.run()
    address = "127.0.0.1:%d" % port
    topology = case.get("topology", "standalone")
    hello = hello_reply(topology, address)
    hello.update(case.get("hello", {}))
    # CommandBase matches command names case-insensitively (isMaster/ismaster).
    server.autoresponds(CommandBase("ismaster"), hello)
    server.autoresponds(CommandBase("hello"), hello)
    if case.get("autorespond_ping", True):
        server.autoresponds(CommandBase("ping"), {"ok": 1})
    server.autoresponds(CommandBase("endSessions"), AUTOMATIC_REPLIES["endsessions"])
    server.autoresponds(CommandBase("killCursors"), AUTOMATIC_REPLIES["killcursors"])
    print("PORT %d" % port, flush=True)

    matcher = Matcher()
    problems = []
    for number, exchange in enumerate(case.get("exchanges", [])):
        expected_name = next(iter(exchange["expect"]), "").lower()
        try:
            request = server.receives(timeout=exchange.get("timeout", 10))
            # killCursors names its collection, so the autoresponder (which
            # matches {killCursors: 1}) misses it: answer it here unless scripted.
            while request is not None and next(iter(request.doc), "").lower() in CLEANUP and \
                    expected_name not in CLEANUP:
                request.replies(AUTOMATIC_REPLIES[next(iter(request.doc)).lower()])
                request = server.receives(timeout=exchange.get("timeout", 10))
        except AssertionError as e:
            problems.append("exchange %d: %s" % (number, e))
            break
        if request is None:
            problems.append("exchange %d: the peer stopped" % number)
            break
        if os.environ.get("MOCK_PEER_VERBOSE"):
            sys.stderr.write("peer received: %s\n" % json_util.dumps(request.doc))
        found = []
        matcher.match(exchange["expect"], dict(request.doc), "exchange %d" % number, found)
        if found:
            problems.extend(found)
            problems.append("exchange %d: received %s" % (number, json_util.dumps(request.doc)))
            request.replies({"ok": 0, "code": 8000, "errmsg": "mock peer: unexpected command"})
            break
        try:
            for name, path in exchange.get("capture", {}).items():
                matcher.captured[name] = at_path(request.doc, path)
            reply = substitute(exchange.get("reply", {"ok": 1}), matcher.captured)
        except (KeyError, IndexError, ValueError) as e:
            problems.append("exchange %d: cannot capture or substitute %s" % (number, e))
            problems.append("exchange %d: received %s" % (number, json_util.dumps(request.doc)))
            request.replies({"ok": 0, "code": 8000, "errmsg": "mock peer: bad capture"})
            break
        if exchange.get("hangup"):
            request.hangup()
        elif exchange.get("silent"):
            pass
        else:
            request.replies(reply)
        if exchange.get("repeat"):
            # From now on every request matching this exchange gets the same
            # reply, however many arrive (a server's periodic refresh).
            def repeat(request, expect=exchange["expect"], reply=reply):
                found = []
                Matcher().match(expect, dict(request.doc), "repeat", found)
                return False if found else request.replies(reply)
            server.autoresponds(repeat)

    outcome_line = sys.stdin.readline()
    # Anything still queued after the Store was closed was not scripted.
    # Requests left in the queue were not scripted. The queue is read directly:
    # mockupdb's matchers raise on requests whose connection already closed.
    # Auto-answered commands land here too when their connection closed
    # before the autoresponder saw them (monitoring, endSessions at shutdown).
    while True:
        try:
            extra = server._request_q.get(timeout=0.05)
        except Exception:
            break
        name = next(iter(extra.doc), "").lower()
        if name in AUTOMATIC:
            continue
        if not problems:
            problems.append("unexpected extra command: %s" % json_util.dumps(extra.doc))
    try:
        outcome = json.loads(outcome_line)
    except ValueError:
        outcome = None
        problems.append("the test sent no outcome: %r" % outcome_line)
    if outcome is not None and "outcome" in case:
        matcher.match(case["outcome"], outcome, "outcome", problems)
    if problems:
        print("RESULT FAIL")
        for p in problems:
            print("  " + p)
        if outcome is not None:
            print("  outcome was: " + json.dumps(outcome))
    else:
        print("RESULT OK")
    sys.stdout.flush()
    # MockupDB.stop() joins its threads for about a second; nothing is left to clean up.
    os._exit(0)


if __name__ == "__main__":
    main()
