"""A process that starts a worker pool as the importer does, prints the worker's pid and
waits to be killed (for tests/test_bulk.py)."""

import concurrent.futures
import multiprocessing
import os
import time

from tui_crm import bulk

if __name__ == "__main__":
    context = multiprocessing.get_context("forkserver")
    pool = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=context, initializer=bulk.end_with, initargs=(os.getpid(),)
    )
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 3600)
    time.sleep(3600)
