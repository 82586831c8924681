"""Schemathesis hooks for infra-tests/fuzz.test.ts (loaded through SCHEMATHESIS_HOOKS).

Two custom checks and one failure filter:

- ``tes_error_shape``: every error response (4xx and 5xx) is JSON in the service's one documented
  error shape (README "Errors", lambdas/domain/errors.ts)::

      {"status": 400, "code": "INVALID_TASK", "message": "...",
       "details": [{"path": "...", "message": "..."}], "request_id": "..."}

  ``status`` equals the HTTP status, ``code`` is one the README documents for that status,
  ``details`` (when present; always for INVALID_TASK and INVALID_REQUEST) lists
  ``{path, message, rule?}`` problems (``Problem`` in errors.ts), and nothing else is in the body.

- ``tes_minimal_view``: a MINIMAL view (``view=MINIMAL``, or no ``view``: the spec's default)
  of GetTask or ListTasks holds ONLY ``id`` and ``state`` per task, as the spec's ``view``
  parameter describes, with ``state`` one of ``tesState``.

- ``filter_failure``: the spec's one self-contradiction. Its ``view`` parameter says a MINIMAL
  task holds ONLY ``id`` and ``state``, yet GetTask and ListTasks answer with ``tesTask``, which
  requires ``executors``. So in a MINIMAL-view 200 of those two operations, and only there, the
  ``response_schema_conformance`` error "``executors`` is a required property" on a task object is
  dropped. Every other schema error of the same response still counts (Schemathesis reports each
  error separately), and ``tes_minimal_view`` checks what MINIMAL really promises instead.
  It also excuses ``negative_data_rejection`` for the query leniencies the service documents
  (see ``_is_documented_query_leniency``). With ``TES_FUZZ_EXCUSED_LOG`` set, every excused
  failure is noted there, one JSON line each.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import JsonSchemaError

# README "Errors": the documented codes, by HTTP status.
DOCUMENTED_ERROR_CODES: dict[int, set[str]] = {
    400: {"INVALID_TASK", "INVALID_JSON", "INVALID_REQUEST", "INVALID_PAGE_TOKEN", "TASK_TOO_LARGE"},
    401: {"UNAUTHENTICATED"},
    404: {"NOT_FOUND"},
    413: {"PAYLOAD_TOO_LARGE"},
    500: {"INTERNAL"},
    503: {"UNAVAILABLE"},
}
# README: `details` lists every problem of an invalid task (and of a bad query) with its JSON path.
CODES_WITH_DETAILS = {"INVALID_TASK", "INVALID_REQUEST"}
ERROR_KEYS = {"status", "code", "message", "details", "request_id"}
# lambdas/domain/errors.ts `Problem`: `rule` names the admission rule a refused task breaks.
PROBLEM_KEYS = {"path", "message", "rule"}

TASK_VIEW_OPERATIONS = {"GET /tasks/{id}", "GET /tasks"}
# ListTasks' query parameters whose schema is any string, or an array of any strings.
STRING_QUERY_PARAMETERS = {"name_prefix", "page_token", "tag_key", "tag_value"}


def _media_type(response: schemathesis.Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip().lower()


def _body(response: schemathesis.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"the body is not JSON ({error}): {response.content[:300]!r}") from None


def _sent_query(response: schemathesis.Response) -> dict[str, list[str]]:
    """The query string as it went over the wire (what the server read, not what was generated)."""
    return parse_qs(urlsplit(response.request.url or "").query, keep_blank_values=True)


def _effective_view(response: schemathesis.Response) -> str:
    """The view the server applies, as lambdas/domain/list-query.ts reads it (first value; empty = default)."""
    values = _sent_query(response).get("view") or [""]
    return values[0] or "MINIMAL"


def _is_minimal_task_response(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    return (
        response.status_code == 200
        and case.operation.label in TASK_VIEW_OPERATIONS
        and _effective_view(response) == "MINIMAL"
    )


@schemathesis.check
def tes_error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx/5xx is `{status, code, message, details?, request_id}` as the README documents."""
    status = response.status_code
    if status < 400:
        return None
    problems: list[str] = []
    media_type = _media_type(response)
    if media_type != "application/json":
        problems.append(f"content-type is {media_type or 'missing'!r}, not application/json")
    body = _body(response)
    if not isinstance(body, dict):
        raise AssertionError(f"the error body is not a JSON object: {response.content[:300]!r}")
    extra = sorted(set(body) - ERROR_KEYS)
    if extra:
        problems.append(f"undocumented fields {extra}")
    if body.get("status") != status or isinstance(body.get("status"), bool):
        problems.append(f"`status` is {body.get('status')!r}, not the HTTP status {status}")
    code = body.get("code")
    documented = DOCUMENTED_ERROR_CODES.get(status, set())
    if not isinstance(code, str) or code not in documented:
        expected = ", ".join(sorted(documented)) or "none (the README documents no error with this status)"
        problems.append(f"`code` is {code!r}; documented for {status}: {expected}")
    message = body.get("message")
    if not isinstance(message, str) or message == "":
        problems.append(f"`message` is {message!r}, not a non-empty string")
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or request_id == "":
        problems.append(f"`request_id` is {request_id!r}, not a non-empty string")
    if "details" in body:
        details = body["details"]
        if not isinstance(details, list) or not all(
            isinstance(d, dict)
            and {"path", "message"} <= set(d) <= PROBLEM_KEYS
            and isinstance(d["path"], str)
            and isinstance(d["message"], str)
            and d["message"] != ""
            and isinstance(d.get("rule", ""), str)
            for d in details
        ):
            problems.append(f"`details` is not a list of {{path, message, rule?}} problems: {details!r}")
    elif code in CODES_WITH_DETAILS:
        problems.append(f"`details` is missing from a {code} error")
    if problems:
        raise AssertionError(
            "error response breaks the documented error shape {status, code, message, details?, request_id}: "
            + "; ".join(problems)
        )
    return None


@schemathesis.check
def tes_minimal_view(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A MINIMAL task is exactly `{id, state}` (the spec's `view` parameter)."""
    if not _is_minimal_task_response(case, response):
        return None
    body = _body(response)
    if case.operation.label == "GET /tasks/{id}":
        tasks = [("", body)]
    elif isinstance(body, dict) and isinstance(body.get("tasks"), list):
        tasks = [(f"tasks[{i}]", task) for i, task in enumerate(body["tasks"])]
    else:
        return None  # not a listing at all: response_schema_conformance reports that
    states = set(case.operation.schema.raw_schema["components"]["schemas"]["tesState"]["enum"])
    problems: list[str] = []
    for where, task in tasks:
        label = where or "the task"
        if not isinstance(task, dict):
            problems.append(f"{label} is not an object")
            continue
        if set(task) != {"id", "state"}:
            problems.append(f"{label} has fields {sorted(task)}, not exactly ['id', 'state']")
        if not isinstance(task.get("id"), str) or task.get("id") == "":
            problems.append(f"{label}.id is {task.get('id')!r}")
        if task.get("state") not in states:
            problems.append(f"{label}.state is {task.get('state')!r}, not a tesState")
    if problems:
        raise AssertionError("MINIMAL view must hold only id and state: " + "; ".join(problems))
    return None


def _is_minimal_view_missing_executors(failure: Any, case: schemathesis.Case, response: schemathesis.Response) -> bool:
    """The spec's MINIMAL-view contradiction: "executors is required" on a task object, and nothing else."""
    if not isinstance(failure, JsonSchemaError) or not _is_minimal_task_response(case, response):
        return False
    path = list(failure.instance_path)
    on_a_task = path == [] if case.operation.label == "GET /tasks/{id}" else (len(path) == 2 and path[0] == "tasks")
    return (
        on_a_task
        and list(failure.schema_path)[-1:] == ["required"]
        and isinstance(failure.instance, dict)
        and "executors" not in failure.instance
        and '"executors" is a required property' in failure.validation_message
    )


def _negated_parameters(case: schemathesis.Case) -> list[tuple[Any, str | None]]:
    """(location, name) of every part of a negative case that breaks the schema."""
    data = case.meta.phase.data if case.meta is not None else None
    if data is None:
        return []
    mutations = getattr(data, "mutations", ()) or ()
    if mutations:
        return [(m.parameter_location, m.parameter) for m in mutations]
    return [(data.parameter_location, data.parameter)]


def _is_documented_query_leniency(failure: Any, case: schemathesis.Case, response: schemathesis.Response) -> bool:
    """A "schema-violating" query the service accepts on purpose, judged on what went over the wire.

    A query string carries only strings, and the service reads it by documented rules
    (lambdas/domain/list-query.ts, README "ListTasks"): it takes the first value of a repeated
    parameter (all of them for tag_key/tag_value); an empty value is no value, so the default
    applies (`?view=`, `?state=`; `page_size=0` likewise); a `page_size` above 2048 is clamped
    to 2048, so one beyond int32 is clamped too rather than refused. So a negation is excused
    when the value the service reads is, under those rules, valid for the spec: it either never
    reached the server (`tag_key=false` is a valid string; an empty object serializes to nothing)
    or is one of the documented leniencies. Only negative cases whose every negation is in the
    query are considered; anything else accepted (bodies, bad enum values, non-numeric page sizes)
    still fails negative_data_rejection.
    """
    if not isinstance(failure, AcceptedNegativeData):
        return False
    negated = _negated_parameters(case)
    if not negated or any(location != ParameterLocation.QUERY or name is None for location, name in negated):
        return False
    sent = _sent_query(response)
    components = case.operation.schema.raw_schema["components"]
    enums = {
        "view": set(components["parameters"]["view"]["schema"]["enum"]),
        "state": set(components["schemas"]["tesState"]["enum"]),
    }
    for _, name in negated:
        values = sent.get(str(name), [])
        if not values or name in STRING_QUERY_PARAMETERS:
            continue  # not sent at all (every parameter is optional), or any string is valid
        read = values[0]
        if read == "":
            continue  # empty is the default
        if name in enums and read in enums[name]:
            continue
        if name == "page_size" and re.fullmatch(r"\d+", read):
            continue  # 0 is the default; above 2048 is clamped
        return False
    return True


@schemathesis.hook
def filter_failure(
    ctx: schemathesis.HookContext, failure: Any, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    """Keep every failure except the two kinds documented in this module's docstring."""
    if _is_minimal_view_missing_executors(failure, case, response):
        _note_excused("minimal_view_executors", failure, case, response)
        return False
    if _is_documented_query_leniency(failure, case, response):
        _note_excused("query_leniency", failure, case, response)
        return False
    return True


_EXCUSED_LOG = os.environ.get("TES_FUZZ_EXCUSED_LOG")
_EXCUSED_LOCK = threading.Lock()


def _note_excused(reason: str, failure: Any, case: schemathesis.Case, response: schemathesis.Response) -> None:
    """One JSON line per excused failure, so the test can say how many it excused and why."""
    if not _EXCUSED_LOG:
        return
    request = response.request
    line = json.dumps({
        "reason": reason,
        "operation": case.operation.label,
        "case_id": case.id,
        "code": failure.code,
        "request": f"{request.method} {request.url}",
        "status": response.status_code,
    })
    with _EXCUSED_LOCK, open(_EXCUSED_LOG, "a", encoding="utf-8") as log:
        log.write(line + "\n")
