"""Drives a TES with py-tes 1.1.4, the reference Python client, and checks what it reads.

Every response goes through py-tes's own models, which refuse unknown fields, so a
response with anything outside the spec fails here. Usage: pytes_check.py BASE_URL
(BASE_URL is the host root: py-tes itself tries /ga4gh/tes/v1 and /v1 under it).
Prints one JSON line with what it saw; exits non-zero on the first failed check.
"""
import json
import os
import sys

import tes

# The image the tasks run (the test image the suite built; any image with sh and sleep elsewhere).
IMAGE = os.environ.get("TES_TEST_IMAGE", "alpine:3.20")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main(url):
    client = tes.HTTPClient(url, timeout=10, token=os.environ.get("TES_TOKEN"))
    seen = {}

    info = client.get_service_info()
    check(info.type["artifact"] == "tes", f"service-info type: {info.type}")
    seen["service_info"] = {"name": info.name, "storage": info.storage}

    task = tes.Task(
        name="py-tes check",
        description="created by py-tes",
        inputs=[tes.Input(path="/data/in.txt", content="hello from py-tes")],
        outputs=[tes.Output(path="/data/out.txt", url=info.storage[0].rstrip("/") + "/py-tes/out.txt")],
        resources=tes.Resources(cpu_cores=1, ram_gb=1.0, disk_gb=10.0),
        executors=[
            tes.Executor(
                image=IMAGE,
                command=["sh", "-c", "cat /data/in.txt > /data/out.txt"],
                env={"GREETING": "hi"},
                workdir="/data",
            )
        ],
        tags={"client": "py-tes"},
    )
    created = client.create_task(task)
    # py-tes 1.1.4 returns the id itself, although its annotation says CreateTaskResponse.
    task_id = created if isinstance(created, str) else created.id
    check(isinstance(task_id, str) and task_id, "create_task returned no id")

    basic = client.get_task(task_id, view="BASIC")
    check(basic.id == task_id, "BASIC id")
    check(basic.name == "py-tes check", f"BASIC name: {basic.name}")
    check(basic.inputs[0].content is None, "BASIC must not carry content")
    check(basic.executors[0].command == ["sh", "-c", "cat /data/in.txt > /data/out.txt"], "BASIC command")

    full = client.get_task(task_id, view="FULL")
    check(full.inputs[0].content == "hello from py-tes", "FULL content")
    check(full.creation_time is not None, "FULL creation_time")

    minimal = client.get_task(task_id, view="MINIMAL")
    check(minimal.executors is None and minimal.state is not None, "MINIMAL has only id and state")

    listed = client.list_tasks(view="BASIC", page_size=5)
    check(any(t.id == task_id for t in listed.tasks), "the new task is listed")
    listed_full = client.list_tasks(view="FULL")
    check(len(listed_full.tasks) >= 1, "FULL list")

    done = client.wait(task_id, timeout=60)
    check(done.state == "COMPLETE", f"wait ended in {done.state}")
    full = client.get_task(task_id, view="FULL")
    executor_log = full.logs[0].logs[0]
    check(executor_log.exit_code == 0, f"exit code {executor_log.exit_code}")
    check(full.logs[0].outputs[0].path == "/data/out.txt", f"outputs {full.logs[0].outputs}")
    # The wire value is the string "17"; py-tes turns it into a number.
    check(str(full.logs[0].outputs[0].size_bytes) == "17", f"size_bytes {full.logs[0].outputs[0].size_bytes}")
    seen["final_state"] = full.state
    seen["task_id"] = task_id

    sleeper = tes.Task(executors=[tes.Executor(image=IMAGE, command=["sleep", "60"])])
    created = client.create_task(sleeper)
    sleeper_id = created if isinstance(created, str) else created.id
    client.cancel_task(sleeper_id)
    canceled = client.wait(sleeper_id, timeout=30)
    check(canceled.state in ("CANCELED", "CANCELING"), f"canceled task ended in {canceled.state}")
    seen["canceled_state"] = client.get_task(sleeper_id, view="FULL").state
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
