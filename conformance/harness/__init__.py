"""The harness: how an adapter under test is driven and judged.

``contract`` (the adapter contract), ``outcome`` and ``verdict`` (what a run means) and
``matrix`` (the tests) are pure; ``source``, ``run`` and ``execute`` are the in-process
driver (asyncio, threads, and reading case bodies); ``loading`` imports user modules.
"""
