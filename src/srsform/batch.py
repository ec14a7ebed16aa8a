"""A scan run over a stack: which pages the store still needs, workers to read them, the
parent storing each page as it comes back (in input order), and the records read back.

Workers are pure (a PageRef in, a PageResult out); only this parent process writes to the
store. Each page is committed on its own, so a run that is killed loses at most the
pages in flight, and running it again reads only what is missing.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2

from .read.ingest import PageFailure, PageRef, list_pages
from .read.pipeline import ScanConfig, process_stack
from .records import PageResult
from .store import Store, file_sha256

PAGES_PER_TASK = 4  # pages a pool worker reads per task (in order, reading ahead)


@dataclass(frozen=True)
class SourcePlan:
    """One input file: its identity, its pages, and which of them still need reading."""

    path: str  # where the file is read from
    sha256: str | None  # None when the file cannot even be read
    source_id: int
    todo: tuple[PageRef | PageFailure, ...]
    name: str = ""  # what its records call it (a spooled stdin is "<stdin>"); "" for path

    @property
    def source(self) -> str:
        return self.name or self.path


def plan(paths: Sequence[str], store: Store, rescan: bool = False,
         names: Mapping[str, str] | None = None) -> list[SourcePlan]:
    """Register every input file in the store and list the pages still to be read; `names`
    gives a file another name in records and the store (a temporary copy of stdin)."""
    plans = []
    names = names or {}
    for path in paths:
        name = names.get(path, "")
        try:
            sha, size = file_sha256(path), os.path.getsize(path)
        except OSError as exc:
            sha, size = f"unreadable:{path}:{exc.strerror}", 0
        found = store.source(sha)
        if found is not None and not rescan:
            source_id, count = found
            done = store.stored_page_numbers(source_id)
            if len(done) >= count:
                plans.append(SourcePlan(path, sha, source_id, (), name))
                continue
            refs = [r for r in list_pages(path) if r.page not in done]
        else:
            refs = list_pages(path)
            source_id = found[0] if found else store.add_source(sha, name or path, size,
                                                                len(refs))
        plans.append(SourcePlan(path, sha, source_id, tuple(refs), name))
    return plans


def run(plans: Sequence[SourcePlan], store: Store, config: ScanConfig, jobs: int = 1,
        on_page: Callable[[PageResult], None] | None = None) -> int:
    """Read every page still to do and store each as it arrives; returns how many."""
    work = [(p, ref) for p in plans for ref in p.todo]
    if work:
        store.start_run()  # these pages are "the last scan" until the next run stores any
    count = 0
    for (source, _), result in zip(work, _results([r for _, r in work], config, jobs),
                                   strict=True):
        if source.name:
            result = dataclasses.replace(result, source=source.name)
        stored = store.save_page(source.source_id, result)
        count += 1
        if on_page is not None:
            on_page(stored)
    return count


def _results(refs: list[PageRef | PageFailure], config: ScanConfig, jobs: int
             ) -> Iterator[PageResult]:
    if jobs <= 1 or len(refs) <= 1:
        # This thread measures while a second decodes ahead: OpenCV's own thread pool would
        # only add contention (measured: same wall time, a sixth less CPU without it).
        previous = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            yield from process_stack(refs, config)
        finally:
            cv2.setNumThreads(previous)
        return
    context = multiprocessing.get_context("spawn")
    # Each task is a few consecutive pages, which the worker reads as the single process does
    # (decoding the next page while it measures one); map() keeps input order, and the parent
    # stores each page as soon as its turn comes.
    tasks = [refs[i:i + PAGES_PER_TASK] for i in range(0, len(refs), PAGES_PER_TASK)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=_init_worker) as pool:
        for results in pool.map(_process_task, tasks, [config] * len(tasks)):
            yield from results


def _process_task(refs: list[PageRef | PageFailure], config: ScanConfig) -> list[PageResult]:
    return list(process_stack(refs, config))


def _init_worker() -> None:
    # One OpenCV thread per worker: its two threads and the other workers use the cores.
    cv2.setNumThreads(1)


def stored_results(plans: Sequence[SourcePlan], store: Store) -> Iterator[PageResult]:
    """The stored record of every page of every planned file, in input order."""
    for p in plans:
        yield from store.records(p.source_id, p.source)
