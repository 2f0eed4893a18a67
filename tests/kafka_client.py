"""A Kafka client for the end-to-end tests, on confluent-kafka (librdkafka), which nobody
here wrote. One command per call; results are printed as JSON lines.

  kafka_client.py BOOTSTRAP create TOPIC PARTITIONS
  kafka_client.py BOOTSTRAP produce TOPIC < lines      # each stdin line a JSON message:
        {"value": "...", "key": "...", "partition": 0, "headers": {"h": "v"}}
  kafka_client.py BOOTSTRAP produce-range TOPIC START COUNT [PARTITIONS]
        # values {"id": N, "pad": "..."} round-robin over the partitions, ~200 bytes each
  kafka_client.py BOOTSTRAP consume TOPIC COUNT [TIMEOUT_S]  # from the beginning
  kafka_client.py BOOTSTRAP committed GROUP TOPIC PARTITIONS # the group's offsets
  kafka_client.py BOOTSTRAP count TOPIC [TIMEOUT_S]          # consume all, print rate
"""

import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, int(partitions), 1)])
    for f in futures.values():
        f.result(30)
    print(json.dumps({"created": topic}))


def delivered(err, msg):
    if err is not None:
        raise KafkaException(err)


def producer(bootstrap):
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20,
                     "enable.idempotence": True})


def produce(bootstrap, topic):
    p = producer(bootstrap)
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        m = json.loads(line)
        kwargs = {}
        if "partition" in m:
            kwargs["partition"] = m["partition"]
        if m.get("headers"):
            kwargs["headers"] = list(m["headers"].items())
        value = m.get("value")
        p.produce(topic, value=None if value is None else value.encode(),
                  key=m.get("key", None), on_delivery=delivered, **kwargs)
        n += 1
        p.poll(0)
    left = p.flush(60)
    assert left == 0, f"{left} messages not delivered"
    print(json.dumps({"produced": n}))


def produce_range(bootstrap, topic, start, count, partitions=1):
    p = producer(bootstrap)
    start, count, partitions = int(start), int(count), int(partitions)
    pad = "x" * 170
    for i in range(start, start + count):
        value = '{"id":%d,"pad":"%s"}' % (i, pad)
        while True:
            try:
                p.produce(topic, value=value, partition=i % partitions, on_delivery=delivered)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    left = p.flush(120)
    assert left == 0, f"{left} messages not delivered"
    print(json.dumps({"produced": count}))


def consumer(bootstrap):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader-%d" % time.time_ns(),
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})


def consume(bootstrap, topic, count, timeout=60):
    c = consumer(bootstrap)
    c.subscribe([topic])
    got, until = 0, time.time() + float(timeout)
    while got < int(count) and time.time() < until:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        value = m.value()
        print(json.dumps({
            "partition": m.partition(), "offset": m.offset(),
            "key": None if m.key() is None else m.key().decode(),
            "value": None if value is None else value.decode(),
            "headers": [[k, None if v is None else v.decode()] for k, v in (m.headers() or [])],
        }), flush=True)
        got += 1
    c.close()


def committed(bootstrap, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    tps = [TopicPartition(topic, p) for p in range(int(partitions))]
    for tp in c.committed(tps, timeout=30):
        print(json.dumps({"partition": tp.partition, "offset": tp.offset}))
    c.close()


def count(bootstrap, topic, timeout=120):
    """Reads the topic to its end with one consumer: the raw librdkafka baseline."""
    c = consumer(bootstrap)
    meta = c.list_topics(topic, timeout=30).topics[topic]
    ends = {}
    tps = []
    for p in meta.partitions:
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        ends[p] = high
        tps.append(TopicPartition(topic, p, low))
    c.assign(tps)
    total, started = 0, time.time()
    target = sum(ends.values())
    while total < target and time.time() - started < float(timeout):
        for m in c.consume(10000, 0.5):
            if m.error():
                raise KafkaException(m.error())
            total += 1
    elapsed = time.time() - started
    print(json.dumps({"rows": total, "seconds": elapsed, "rows_per_s": total / elapsed}))
    c.close()


COMMANDS = {"create": create, "produce": produce, "produce-range": produce_range,
            "consume": consume, "committed": committed, "count": count}

if __name__ == "__main__":
    COMMANDS[sys.argv[2]](sys.argv[1], *sys.argv[3:])
