"""The standard-library receiver's signature check against the Standard Webhooks vectors
(tests/data/standard-webhooks.json), each at its own timestamp, and what it must refuse.

    python3 tests/python/receiver_stdlib_test.py <examples/receivers/python/receiver_stdlib.py> <vectors.json>
"""

import importlib.util
import json
import sys
import unittest

spec = importlib.util.spec_from_file_location("receiver_stdlib", sys.argv[1])
receiver = importlib.util.module_from_spec(spec)
spec.loader.exec_module(receiver)
with open(sys.argv[2]) as f:
    vectors = json.load(f)


def headers(v, signature=None):
    return {"webhook-id": v["msg_id"], "webhook-timestamp": str(v["timestamp"]),
            "webhook-signature": signature or v["signature"]}


class vectors_test(unittest.TestCase):
    def test_every_vector_verifies(self):
        for v in vectors:
            with self.subTest(msg_id=v["msg_id"], secret=v["secret"][:12]):
                receiver.verify(receiver.secret_key(v["secret"]), v["payload"].encode(),
                                headers(v), now=v["timestamp"])

    def test_a_changed_body_id_or_key_is_refused(self):
        v = vectors[0]
        key = receiver.secret_key(v["secret"])
        with self.assertRaises(ValueError):
            receiver.verify(key, v["payload"].encode() + b" ", headers(v), now=v["timestamp"])
        with self.assertRaises(ValueError):
            receiver.verify(key, v["payload"].encode(), dict(headers(v), **{"webhook-id": "x"}),
                            now=v["timestamp"])
        with self.assertRaises(ValueError):
            receiver.verify(key[::-1], v["payload"].encode(), headers(v), now=v["timestamp"])

    def test_an_old_or_future_timestamp_is_refused(self):
        v = vectors[0]
        key = receiver.secret_key(v["secret"])
        for skew in (-301, 301):
            with self.assertRaises(ValueError):
                receiver.verify(key, v["payload"].encode(), headers(v), now=v["timestamp"] + skew)

    def test_one_good_signature_among_several_is_enough(self):
        v = vectors[0]
        several = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + v["signature"]
        receiver.verify(receiver.secret_key(v["secret"]), v["payload"].encode(),
                        headers(v, several), now=v["timestamp"])
        with self.assertRaises(ValueError):  # another scheme's version is not v1
            receiver.verify(receiver.secret_key(v["secret"]), v["payload"].encode(),
                            headers(v, "v1a," + v["signature"][3:]), now=v["timestamp"])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=1)
