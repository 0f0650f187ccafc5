"""trace leaves the objects it builds where the backward's young collections skip them."""

import gc

import torch

import gradviz


def _graph():
    x = torch.randn(3, requires_grad=True)
    h = x
    for _ in range(50):
        h = h * 1.5
    return gradviz.trace(h.sum()), h


def test_the_walks_objects_are_in_the_oldest_generation():
    g, _ = _graph()
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(fn) in oldest for fn in g.cols.fn)


def test_objects_the_process_froze_stay_frozen():
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        _graph()
        assert gc.get_freeze_count() == before > 0
    finally:
        gc.unfreeze()
