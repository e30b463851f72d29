"""Batch simulation: thousands of interactions through one strategy, aggregated.

Each interaction is one headless ORS session (the engine + fake platform of ``manage.py
simulate --profile ors``) on the virtual clock.  Interaction ``i`` runs with session seed
``seed + i`` and a fakes profile built from the base profile plus one choice per *variation*
dimension, drawn with a random generator seeded by ``(seed, i)``: the same batch always gives
the same numbers.  The compiled document model is built once per process and shared by every
session (``simulator.scxml.model.get_model``); sessions run without datamodel trace records, and
with a trace only when coverage is asked for.

Variations (``vary``): ``{key: values}`` where ``key`` is a dotted path into the fakes profile
(``queue.available``, ``dialog.digits``, ``rules``...) or a shortcut (``ani``, ``dnis``,
``routepoint``, ``media``, ``udata`` for ``interaction.<key>``), and ``values`` is a non-empty
list or ``{"values": [...], "weights": [...]}``.

Public API
----------
``parse_vary(spec) -> list[Dimension]`` (``BatchError`` for bad specs),
``parse_vary_option(text) -> dict`` (the CLI's ``KEY=V1,V2`` / ``KEY=[json]`` / ``{json}`` forms),
``run_batch(files, count, fakes=None, vary=None, entry=None, seed=0, coverage=True, workers=None,
max_time=3600.0, limits=DEFAULT_LIMITS, executor=None, progress=None, cancelled=None) -> dict``
(the summary; see ``run_batch``).

Memory does not grow with the count: per-interaction figures go into bounded histograms
(``simulator.runners.histogram``), coverage into per-state visit counters, and executors keep a
bounded window of chunks in flight, so a batch of 1,000,000 interactions holds what one of 10,000
does. ``progress(done, count)`` is called after each chunk; ``cancelled()`` is checked after each
chunk, and when it answers True the executor stops (pending chunks are dropped) and the summary
of the chunks done so far is returned with ``"cancelled": true``.

Executors
---------
The batch is cut into chunks of interactions ``[start, stop)``; an *executor* runs the chunks and
yields their aggregates in chunk order, and ``run_batch`` merges them. Closing the executor's
iterator early (a cancelled batch) must stop the chunks not yet run. Every executor runs a chunk
with ``run_range(job, start, stop)``, so where it runs changes nothing in the report:
``InProcess`` (this process), ``LocalPool`` (spawned processes), and the web layer's Celery
executor (``simulator.tasks``), which ships the job as ``job_to_json`` and runs chunks on any
number of ``celery -A orchweb worker`` processes.
"""

from __future__ import annotations

import base64
import copy
import json
import multiprocessing
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from simulator.ors.analysis import build_graph
from simulator.ors.dialect import ORS
from simulator.ors.fakes import FakesError, FakesProfile, load_fakes
from simulator.ors.platform import platform_of
from simulator.ors.project import find_entry
from simulator.scxml.datamodel import RuntimePool
from simulator.scxml.errors import DocumentError
from simulator.scxml.model import Model, get_model

from .coverage import Coverage
from .driver import OrsRun
from .histogram import TimeSketch
from .limits import DEFAULT_LIMITS, Limits

#: shortcut variation keys -> fakes profile paths
ALIASES = {
    "ani": "interaction.ani",
    "dnis": "interaction.dnis",
    "routepoint": "interaction.routepoint",
    "media": "interaction.media",
    "udata": "interaction.udata",
}
#: below this many interactions one process is faster than starting a pool
POOL_THRESHOLD = 400
#: most interactions per chunk: results (and progress) stream back chunk by chunk, and a
#: cancelled batch stops within one chunk per worker
CHUNK = 250
#: chunks in flight per worker (the rest wait to be sent: memory and cancellation stay bounded)
WINDOW_PER_WORKER = 4


class BatchError(ValueError):
    """Bad batch input (variation spec, fakes, project)."""


@dataclass(frozen=True)
class Dimension:
    """One varied fakes setting: the key as given, its profile path, values and weights."""

    key: str
    path: str
    values: tuple[Any, ...]
    weights: tuple[float, ...] | None = None

    def choose(self, rng: random.Random) -> int:
        """Index of the value for one interaction."""
        if self.weights is None:
            return rng.randrange(len(self.values))
        return rng.choices(range(len(self.values)), weights=self.weights)[0]


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = copy.deepcopy(value)


def parse_vary(spec: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None) -> list[Dimension]:
    """Validated variation dimensions; each value is checked against the fakes schema over `base`."""
    dimensions = []
    # Sorted: a JSON object has no order (PostgreSQL's jsonb reorders keys), and each interaction
    # draws its values in dimension order, so the order must not depend on how the spec was written.
    for key, raw in sorted((spec or {}).items()):
        path = ALIASES.get(key, key)
        weights = None
        if isinstance(raw, Mapping):
            if set(raw) - {"values", "weights"} or "values" not in raw:
                raise BatchError(f"vary {key}: give a list of values or {{'values': [...], 'weights': [...]}}")
            values, weights = raw["values"], raw.get("weights")
        else:
            values = raw
        if not isinstance(values, list) or not values:
            raise BatchError(f"vary {key}: values must be a non-empty list")
        if weights is not None:
            if (
                not isinstance(weights, list)
                or len(weights) != len(values)
                or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in weights)
                or not sum(weights)
            ):
                raise BatchError(f"vary {key}: weights must be {len(values)} non-negative numbers, not all 0")
            weights = tuple(float(w) for w in weights)
        for index, value in enumerate(values):
            trial = copy.deepcopy(dict(base or {}))
            _set_path(trial, path, value)
            try:
                load_fakes(trial)
            except FakesError as exc:
                raise BatchError(f"vary {key}[{index}] = {json.dumps(value)}: " + "; ".join(exc.problems)) from exc
        dimensions.append(Dimension(key, path, tuple(values), weights))
    return dimensions


def parse_vary_option(text: str) -> dict[str, Any]:
    """``KEY=V1,V2`` (strings), ``KEY=[JSON, ...]`` or ``KEY={"values", "weights"}``, or a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BatchError(f"--vary {text!r}: invalid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise BatchError(f"--vary {text!r}: expected a JSON object")
        return data
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise BatchError(f"--vary {text!r}: expected KEY=V1,V2 or KEY=[JSON values]")
    values = values.strip()
    if values.startswith(("[", "{")):
        try:
            return {key.strip(): json.loads(values)}
        except ValueError as exc:
            raise BatchError(f"--vary {text!r}: invalid JSON ({exc})") from exc
    return {key.strip(): [v.strip() for v in values.split(",") if v.strip()]}


def value_label(value: Any) -> str:
    """How a varied value is named in ``by_variation``: strings as they are, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# -- one process's share of the work ---------------------------------------------------------------


@dataclass
class BatchJob:
    """Everything a process needs to run any interaction of a batch."""

    files: Mapping[str, bytes]
    entry: str
    fakes: dict[str, Any]
    dimensions: list[Dimension]
    seed: int
    coverage: bool
    max_time: float
    limits: Limits = DEFAULT_LIMITS


_WORKER: dict[str, Any] = {}


def job_to_json(job: BatchJob) -> dict[str, Any]:
    """JSON form of a job (files base64-encoded), for executors that ship it to other machines."""
    return {
        "files": {path: base64.b64encode(data).decode("ascii") for path, data in job.files.items()},
        "entry": job.entry,
        "fakes": job.fakes,
        "dimensions": [asdict(d) for d in job.dimensions],
        "seed": job.seed,
        "coverage": job.coverage,
        "max_time": job.max_time,
        "limits": asdict(job.limits),
    }


def job_from_json(data: Mapping[str, Any]) -> BatchJob:
    """Inverse of :func:`job_to_json`."""
    dimensions = [
        Dimension(d["key"], d["path"], tuple(d["values"]), tuple(d["weights"]) if d["weights"] else None)
        for d in data["dimensions"]
    ]
    return BatchJob(
        {path: base64.b64decode(text) for path, text in data["files"].items()},
        data["entry"],
        data["fakes"],
        dimensions,
        int(data["seed"]),
        bool(data["coverage"]),
        float(data["max_time"]),
        Limits(**data["limits"]),
    )


def _model(job: BatchJob) -> Model:
    """The shared compiled model of the job's entry (memoised by get_model; loading reads no fakes)."""
    return get_model(job.files, job.entry, ORS)


def _new_aggregate(dimensions: list[Dimension]) -> dict[str, Any]:
    return {
        "count": 0,
        "statuses": Counter(),
        "outcomes": Counter(),
        "targets": Counter(),
        "error_sessions": 0,
        "error_records": 0,
        "error_messages": Counter(),
        "final_states": Counter(),
        "times": TimeSketch().to_json(),
        "time_to_route": TimeSketch().to_json(),
        "by_variation": {d.key: {} for d in dimensions},
        "coverage": Coverage().to_json(),
    }


def _run_one(
    job: BatchJob,
    model: Model,
    index: int,
    agg: dict[str, Any],
    times: tuple[TimeSketch, TimeSketch],
    cov: Coverage | None,
    profiles: dict[tuple, FakesProfile],
    runtimes: RuntimePool,
) -> None:
    rng = random.Random(job.seed * 1_000_003 + index)
    picks = tuple(dim.choose(rng) for dim in job.dimensions)
    chosen = [(dim.key, value_label(dim.values[pick])) for dim, pick in zip(job.dimensions, picks, strict=True)]
    # Each combination of varied values is loaded (validated, merged) once; a run gets a copy
    # because rules count their uses.
    profile = profiles.get(picks)
    if profile is None:
        fakes = copy.deepcopy(job.fakes)
        for dim, pick in zip(job.dimensions, picks, strict=True):
            _set_path(fakes, dim.path, dim.values[pick])
        profile = profiles[picks] = load_fakes(fakes)
    run = OrsRun(
        job.files,
        job.entry,
        profile.for_run(),
        seed=job.seed + index,
        trace=cov is not None,
        limits=job.limits,
        trace_datamodel=False,
        model=model,
        runtimes=runtimes,
    )
    run.run(max_time=job.max_time)
    summary = run.summary(requests=False)
    status = summary["status"]
    outcome = summary["outcome"]
    agg["count"] += 1
    agg["statuses"][status] += 1
    agg["outcomes"][outcome["status"]] += 1
    if outcome["status"] == "routed":
        agg["targets"][str(outcome.get("target"))] += 1
        platform = platform_of(run.session)
        routed_at = platform.tracker.routed_at if platform is not None else None
        times[1].add(float(summary["virtual_time"] if routed_at is None else routed_at))
    errors = summary["errors"]
    if errors:
        agg["error_sessions"] += 1
        agg["error_records"] += len(errors)
        agg["error_messages"].update(str(e.get("message")) for e in errors)
    times[0].add(float(summary["virtual_time"]))
    if summary["final_state"]:
        agg["final_states"][summary["final_state"]] += 1
    for key, value in chosen:
        agg["by_variation"][key].setdefault(value, Counter())[outcome["status"]] += 1
    if cov is not None:
        cov.add(run.records)
    run.close()


def run_range(job: BatchJob, start: int, stop: int) -> dict[str, Any]:
    """Run interactions [start, stop) and return their aggregate (picklable, JSON-able)."""
    model = _model(job)
    agg = _new_aggregate(job.dimensions)
    cov = Coverage() if job.coverage else None
    times = (TimeSketch(), TimeSketch())
    profiles: dict[tuple, FakesProfile] = {}
    # The chunk's interactions are one user's batch: their sessions share JS runtimes (a closed
    # session's runtime serves the next one instead of a new runtime per interaction).
    runtimes = RuntimePool()
    for index in range(start, stop):
        _run_one(job, model, index, agg, times, cov, profiles, runtimes)
    agg["times"], agg["time_to_route"] = times[0].to_json(), times[1].to_json()
    if cov is not None:
        agg["coverage"] = cov.to_json()
    return agg


def _init_worker(job: BatchJob, parent: int, cpus: frozenset[int] | None = None) -> None:
    if cpus:  # the CPUs of the server before it pinned itself to one (orchweb/affinity.py)
        os.sched_setaffinity(0, cpus)
    threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent", daemon=True).start()
    _WORKER["job"] = job
    _model(job)  # compile once per worker process


def _exit_with(parent: int) -> None:
    """End this pool worker when the process that started it is gone (a server stopped during a
    batch, or just after a cancel): the worker would otherwise wait forever on the task queue,
    whose pipe its siblings keep open."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _worker_range(start: int, stop: int) -> dict[str, Any]:
    return run_range(_WORKER["job"], start, stop)


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    into["count"] += part["count"]
    for key in ("statuses", "outcomes", "targets", "error_messages", "final_states"):
        into[key].update(part[key])
    into["error_sessions"] += part["error_sessions"]
    into["error_records"] += part["error_records"]
    for key in ("times", "time_to_route"):
        into[key] = TimeSketch.from_json(into[key]).merge(TimeSketch.from_json(part[key])).to_json()
    for key, values in part["by_variation"].items():
        for value, counts in values.items():
            into["by_variation"].setdefault(key, {}).setdefault(value, Counter()).update(counts)
    into["coverage"] = Coverage.from_json(into["coverage"]).update(Coverage.from_json(part["coverage"])).to_json()


def default_workers(count: int) -> int:
    """Process-pool size: min(2, cpu) for large batches, 1 (in process) for small ones."""
    return min(2, os.cpu_count() or 1) if count >= POOL_THRESHOLD else 1


class ChunkExecutor(Protocol):
    """Runs chunks of a batch; yields each chunk's aggregate, in chunk order."""

    name: str
    workers: int

    def run(self, job: BatchJob, chunks: list[tuple[int, int]]) -> Iterable[dict[str, Any]]: ...


def plan_chunks(count: int, workers: int) -> list[tuple[int, int]]:
    """Interaction ranges: several per worker keep all busy to the end; at most CHUNK each keeps
    results (and progress) streaming and bounds what a lost worker or a cancel has to wait for."""
    chunk = max(1, min(CHUNK, -(-count // (max(1, workers) * 4))))
    return [(start, min(start + chunk, count)) for start in range(0, count, chunk)]


class InProcess:
    """Runs the chunks in this process, one after another."""

    name = "local"
    workers = 1

    def run(self, job: BatchJob, chunks: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
        for start, stop in chunks:
            yield run_range(job, start, stop)


class LocalPool:
    """Runs the chunks in a pool of spawned processes (each compiles the document once), on
    `cpus` when given (else on the CPUs they inherit)."""

    name = "local"

    def __init__(self, workers: int, cpus: frozenset[int] | None = None) -> None:
        self.workers = workers
        self.cpus = cpus

    def start(self, job: BatchJob) -> ProcessPoolExecutor:
        """The pool of worker processes for `job` (spawned as the first chunks are submitted)."""
        context = multiprocessing.get_context("spawn")  # no fork of a process holding JS runtimes
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(job, os.getpid(), self.cpus)
        )

    def run(self, job: BatchJob, chunks: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
        pool = self.start(job)
        waiting = iter(chunks)
        in_flight: deque[Future[dict[str, Any]]] = deque()
        finished = False
        try:
            for start, stop in waiting:
                in_flight.append(pool.submit(_worker_range, start, stop))
                if len(in_flight) >= self.workers * WINDOW_PER_WORKER:
                    break
            while in_flight:
                result = in_flight.popleft().result()
                for start, stop in waiting:
                    in_flight.append(pool.submit(_worker_range, start, stop))
                    break
                yield result
            finished = True
        finally:
            # Closed early (cancelled, failed): drop what has not started, do not wait for the
            # chunks still running (their processes exit once done).
            pool.shutdown(wait=finished, cancel_futures=True)


def run_batch(
    files: Mapping[str, bytes],
    count: int,
    fakes: Mapping[str, Any] | None = None,
    vary: Mapping[str, Any] | None = None,
    entry: str | None = None,
    seed: int = 0,
    coverage: bool = True,
    workers: int | None = None,
    max_time: float = 3600.0,
    limits: Limits = DEFAULT_LIMITS,
    executor: ChunkExecutor | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run `count` interactions and aggregate them (with `executor`, default: in process or a
    local pool of `workers` processes).

    Returns ``{"count", "entry", "seed", "statuses": {final|idle|limit|error: n}, "final_states": {id: n},
    "outcomes": {routed|terminated|abandoned|waiting|error: n}, "targets": {target: n} (routed
    ones), "errors": {"sessions", "records", "messages": {message: n} (10 most common)},
    "virtual_time": {"min", "max", "mean", "p50", "p95"} (p50/p95 of values rounded to 4 significant
    digits of a millisecond), "time_to_route": {"bucket_seconds", "counts": [n per bucket], "p50", "p95"}
    (routed ones: virtual time of the routing), "by_variation": {key: {json value: {outcome: n}}},
    "coverage": coverage report and "heat": visits per state and transition (when asked),
    "cancelled": true (only when `cancelled()` stopped it; "count" is then what was done), "timing":
    {"executor", "workers", "chunks", "seconds", "interactions_per_second"}}``.  Raises
    :class:`BatchError` for bad input and ``DocumentError`` for a strategy with definition errors.
    """
    if count < 1:
        raise BatchError("count must be at least 1")
    base = dict(fakes or {})
    try:
        load_fakes(base)
    except FakesError as exc:
        raise BatchError(str(exc)) from exc
    dimensions = parse_vary(vary, base)
    entry = entry or find_entry(files)
    job = BatchJob(dict(files), entry, base, dimensions, seed, coverage, max_time, limits)
    model = _model(job)
    if model.errors:
        raise DocumentError(model.errors)
    if executor is None:
        workers = workers or default_workers(count)
        executor = InProcess() if workers <= 1 else LocalPool(workers)
    chunks = plan_chunks(count, executor.workers)
    started = time.perf_counter()
    total = _new_aggregate(dimensions)
    stopped = False
    parts = iter(executor.run(job, chunks))
    try:
        for part in parts:  # in chunk order: ties in counts keep interaction order
            _merge(total, part)
            if progress is not None:
                progress(total["count"], count)
            if cancelled is not None and total["count"] < count and cancelled():
                stopped = True
                break
    finally:
        close = getattr(parts, "close", None)
        if close is not None:
            close()  # the executor drops the chunks not run (a generator's finally)
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = {
        "count": total["count"],
        "entry": entry,
        "seed": seed,
        "statuses": dict(sorted(total["statuses"].items())),
        "outcomes": dict(sorted(total["outcomes"].items())),
        "targets": dict(sorted(total["targets"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "errors": {
            "sessions": total["error_sessions"],
            "records": total["error_records"],
            "messages": dict(total["error_messages"].most_common(10)),
        },
        "final_states": dict(sorted(total["final_states"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "virtual_time": TimeSketch.from_json(total["times"]).figures(),
        "time_to_route": _time_to_route(TimeSketch.from_json(total["time_to_route"])),
        "by_variation": {
            key: {value: dict(sorted(counts.items())) for value, counts in sorted(values.items())}
            for key, values in total["by_variation"].items()
        },
    }
    if coverage:
        graph = build_graph(files, entry)
        union = Coverage.from_json(total["coverage"])
        summary["coverage"] = union.report(graph)
        summary["heat"] = union.heat(graph)
    if stopped:
        summary["cancelled"] = True
    summary["timing"] = {
        "executor": executor.name,
        "workers": executor.workers,
        "chunks": len(chunks),
        "seconds": round(seconds, 3),
        "interactions_per_second": round(total["count"] / seconds, 1) if seconds else None,
    }
    return summary


def _time_to_route(sketch: TimeSketch) -> dict[str, Any]:
    figures = sketch.figures()
    return {**sketch.histogram(), "p50": figures["p50"], "p95": figures["p95"]}
