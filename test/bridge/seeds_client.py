"""A Synaptic Bridge client in Python, as the seeds wrote theirs (pyzmq + msgpack).

Sends the seeds' covenant messages over a DEALER, first in MessagePack and then
with send_json / recv_json like the seeds' Kivy client:

    GetFullStateCommand   {command: get_full_state}
    UpdatePropertyCommand {command: update_property, property_name, property_value}
    CreateMethodCommand   {command: create_method, method_name: 'new_tool', method_code: 'print("New tool created!")'}

reads UvmStateUpdateEvents (the reply to get_full_state, and from the PUB
socket), then calls the created method with send_message and checks its
output. Prints one line per step ("KEY value"); the test asserts on them.

usage: python3 seeds_client.py ROUTER_ENDPOINT PUB_ENDPOINT
"""
import json
import sys

import msgpack
import zmq

TIMEOUT_MS = 10_000


def out(key, *values):
    print(key, *values, flush=True)


def fail(message):
    out("FAIL", message)
    sys.exit(1)


def request_msgpack(sock, message):
    sock.send(msgpack.packb(message, use_bin_type=True))
    if not sock.poll(TIMEOUT_MS):
        fail("no reply to %r" % (message,))
    return msgpack.unpackb(sock.recv(), raw=False)


def request_json(sock, message):
    sock.send_json(message)
    if not sock.poll(TIMEOUT_MS):
        fail("no reply to %r" % (message,))
    return sock.recv_json()


def next_event(sub, wanted_tid, poke):
    """The PUB event of commit `wanted_tid` (poke() commits again while the subscription settles)."""
    for _ in range(100):
        if sub.poll(100):
            topic, payload = sub.recv_multipart()
            event = msgpack.unpackb(payload, raw=False)
            if topic != b"uvm_state_update" or event.get("event") != "uvm_state_update":
                fail("unexpected PUB message %r" % (topic,))
            if wanted_tid is None or event.get("tid") == wanted_tid:
                return event
        elif wanted_tid is None:
            poke()
    fail("no uvm_state_update event on the PUB socket")


def session(name, dealer, request, sub):
    # GetFullStateCommand
    state = request(dealer, {"command": "get_full_state", "id": name + "-1"})
    if state.get("event") != "uvm_state_update" or state.get("id") != name + "-1":
        fail("get_full_state replied %r" % (state,))
    out(name, "get_full_state", state["event"], state["state"]["$print"])

    # UpdatePropertyCommand (target_uuid: the seeds' name for the target)
    label = "set by the %s client" % name
    ack = request(dealer, {"command": "update_property", "id": name + "-2", "target_uuid": "genesis",
                           "property_name": name + "_label", "property_value": label})
    if ack.get("event") != "ack" or not isinstance(ack.get("tid"), int):
        fail("update_property replied %r" % (ack,))
    out(name, "update_property", ack["event"], "tid=%d" % ack["tid"])

    # The UvmStateUpdateEvent that commit published
    event = next_event(sub, ack["tid"], lambda: None)
    # An event names the commit and the objects it wrote; the state is asked for (get_full_state).
    if "state" in event:
        fail("a published event carries no state, got %r" % (event,))
    slots = request(dealer, {"command": "get_full_state", "id": name + "-2s"})["state"]["$slots"]
    out(name, "pub", event["event"], "tid=%d" % event["tid"], "changed=%d" % len(event["changed"]),
        "label_ok=%s" % (slots.get(name + "_label") == label))

    # CreateMethodCommand: the seeds' example, a function body
    ack = request(dealer, {"command": "create_method", "id": name + "-3", "method_name": "new_tool",
                           "method_code": 'print("New tool created!")'})
    if ack.get("event") != "ack":
        fail("create_method replied %r" % (ack,))
    out(name, "create_method", ack["event"])

    # get_full_state again: the method is there, as {"$method": source}
    state = request(dealer, {"command": "get_full_state", "id": name + "-4"})
    out(name, "method_slot", json.dumps(state["state"]["$slots"].get("new_tool"), sort_keys=True))

    # send_message runs it; print() comes back in the result's output
    result = request(dealer, {"command": "send_message", "id": name + "-5", "selector": "new_tool"})
    if result.get("event") != "result":
        fail("send_message replied %r" % (result,))
    out(name, "send_message", result["event"], json.dumps(result.get("output")))

    # an error reply: a message nothing understands
    error = request(dealer, {"command": "send_message", "id": name + "-6", "selector": "fly_to_the_moon"})
    out(name, "error", error["error"]["code"], error["error"].get("selector"))


def main():
    router_endpoint, pub_endpoint = sys.argv[1], sys.argv[2]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"uvm_state_update")
    sub.connect(pub_endpoint)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(router_endpoint)
    out("pyzmq", zmq.pyzmq_version(), "libzmq", zmq.zmq_version(), "msgpack", ".".join(map(str, msgpack.version)))

    # Let the subscription reach the publisher: commit until an event arrives.
    counter = [0]

    def poke():
        counter[0] += 1
        request_msgpack(dealer, {"command": "update_property", "property_name": "warmup", "property_value": counter[0]})

    poke()
    next_event(sub, None, poke)

    session("MSGPACK", dealer, request_msgpack, sub)
    # like the seeds' Kivy client: JSON frames both ways
    json_dealer = ctx.socket(zmq.DEALER)
    json_dealer.setsockopt(zmq.LINGER, 0)
    json_dealer.connect(router_endpoint)
    session("JSON", json_dealer, request_json, sub)

    for s in (sub, dealer, json_dealer):
        s.close()
    ctx.term()
    out("DONE")


if __name__ == "__main__":
    main()
