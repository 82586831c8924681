"""Drives a TES with py-tes 0.4.2, the TES 1.0 client Snakemake's TES plugin pins, as that plugin does.

py-tes 0.4 asks for service-info at TES 1.0's /v1/tasks/service-info, and reads every response into
its TES 1.0 models, which refuse fields they do not know. The plugin creates a task with content
and file inputs and polls it in the MINIMAL view until it ends; this does the same, and also reads
it in BASIC (inputs and outputs with their type) and lists it. Usage: pytes04_check.py BASE_URL
(the host root). Prints one JSON line with what it saw; exits non-zero on the first failed check.
"""
import json
import os
import sys
import time

import tes

IMAGE = os.environ.get("TES_TEST_IMAGE", "alpine:3.20")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main(url):
    client = tes.HTTPClient(url, timeout=10)
    seen = {}

    info = client.get_service_info()
    seen["service_info"] = {"name": info.name, "storage": info.storage}
    check(info.storage, f"service-info lists no storage: {info}")

    # The shape the plugin sends: its job script as content, run by bash in workdir /tmp.
    task = tes.Task(
        name="snakemake-job",
        description="rule a",
        inputs=[tes.Input(path="/tmp/run_snakemake.sh", content="echo from snakemake > /tmp/out.txt\n")],
        outputs=[tes.Output(path="/tmp/out.txt", url=info.storage[0].rstrip("/") + "/py-tes-0.4/out.txt")],
        resources=tes.Resources(cpu_cores=1, ram_gb=1, disk_gb=1),
        executors=[tes.Executor(image=IMAGE, command=["/bin/bash", "/tmp/run_snakemake.sh"], workdir="/tmp")],
    )
    task_id = client.create_task(task)
    task_id = task_id if isinstance(task_id, str) else task_id.id
    check(isinstance(task_id, str) and task_id, "create_task returned no id")

    # The plugin's poll: MINIMAL until the task leaves the unfinished states.
    deadline = time.time() + 60
    state = None
    while time.time() < deadline:
        state = client.get_task(task_id, view="MINIMAL").state
        if state not in ("QUEUED", "INITIALIZING", "RUNNING", "PAUSED", "CANCELING"):
            break
        time.sleep(0.2)
    check(state == "COMPLETE", f"the task ended {state}")
    seen["state"] = state

    basic = client.get_task(task_id, view="BASIC")
    check([i.type for i in basic.inputs] == ["FILE"], f"input types: {basic.inputs}")
    check([o.type for o in basic.outputs] == ["FILE"], f"output types: {basic.outputs}")
    seen["types"] = [i.type for i in basic.inputs] + [o.type for o in basic.outputs]

    listed = client.list_tasks(view="MINIMAL")
    check(any(t.id == task_id for t in listed.tasks), "the task is not listed")

    other = client.create_task(tes.Task(executors=[tes.Executor(image=IMAGE, command=["sleep", "30"])]))
    other = other if isinstance(other, str) else other.id
    client.cancel_task(other)
    deadline = time.time() + 30
    while time.time() < deadline and client.get_task(other, view="MINIMAL").state != "CANCELED":
        time.sleep(0.2)
    seen["canceled"] = client.get_task(other, view="MINIMAL").state
    check(seen["canceled"] == "CANCELED", f"the canceled task is {seen['canceled']}")
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
