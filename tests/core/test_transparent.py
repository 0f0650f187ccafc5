"""gradviz never changes what the user's program does: scripts written as users write them
give the same results, run the same code the same number of times, and leave torch as they
found it, with gradviz and without."""

import sys
import threading
import warnings
from contextlib import nullcontext

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

import gradviz
from gradviz import GradvizWarning


class TestCompileInsideRecord:
    """Dynamo traces TorchFunctionModes: record() must step aside inside compiled code."""

    def test_a_compiled_function_returns_what_it_returns_without_gradviz(self):
        torch.manual_seed(0)
        m = nn.Linear(4, 4)
        x = torch.randn(3, 4)
        f = torch.compile(lambda: m(x).square().add(1.0).tanh(), backend="eager")
        expected = m(x).square().add(1.0).tanh()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with gradviz.record():
                out = f()
        assert torch.equal(out, expected)
        assert type(out.grad_fn).__name__ == "TanhBackward0"
        assert [str(w.message) for w in caught if w.category is GradvizWarning] == [
            "gradviz.record() stepped aside inside torch.compile'd code: its ops show no "
            "value, module or source line (their gradients are still captured)"]

    def test_a_compiled_loss_backpropagates_torchs_gradients(self):
        torch.manual_seed(1)
        m = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        x = torch.randn(3, 4)
        f = torch.compile(lambda: m(x).square().add(1.0).tanh().mean(), backend="eager")
        expected = torch.autograd.grad(m(x).square().add(1.0).tanh().mean(), list(m.parameters()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with gradviz.record():
                loss = f()
                twice = loss * 2  # eager code after the compiled call is recorded as before
            g = gradviz.trace(twice)
            twice.backward()
        assert loss.shape == ()
        assert torch.allclose(m[0].weight.grad, 2 * expected[0])
        assert torch.allclose(m[0].bias.grad, 2 * expected[1])
        assert torch.equal(g.find("loss").grad, torch.tensor(2.0))
        assert torch.equal(g.find("twice").value, twice.detach())
        # said once for the whole block, not once per compiled op; dynamo had nothing to say
        assert [w.category for w in caught] == [GradvizWarning]


class TestCheckpointIsNotRerun:
    """Reading saved tensors must not run their unpack hooks (a non-reentrant checkpoint's
    hook re-runs the block's forward)."""

    @staticmethod
    def train_step(use_gradviz: bool):
        torch.manual_seed(0)
        block = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
        x = torch.randn(6, 4, requires_grad=True)
        with gradviz.record() if use_gradviz else nullcontext():
            loss = checkpoint(block, x, use_reentrant=False).pow(2).sum()
        if use_gradviz:
            gradviz.trace(loss)
        loss.backward()
        return block, x.grad

    def test_batchnorm_statistics_are_those_of_a_plain_run(self):
        plain, plain_grad = self.train_step(False)
        traced, grad = self.train_step(True)
        assert plain[1].num_batches_tracked.item() == 2  # the forward, and its recomputation
        assert traced[1].num_batches_tracked.item() == 2
        assert torch.equal(traced[1].running_mean, plain[1].running_mean)
        assert torch.equal(traced[1].running_var, plain[1].running_var)
        assert torch.equal(grad, plain_grad)

    @pytest.mark.parametrize("use_record", [False, True])
    def test_the_users_saved_tensor_hooks_run_as_often_as_without_gradviz(self, use_record):
        def run(use_gradviz):
            calls = {"pack": 0, "unpack": 0}

            def pack(t):
                calls["pack"] += 1
                return t

            def unpack(t):
                calls["unpack"] += 1
                return t

            x = torch.randn(3, 3, requires_grad=True)
            with gradviz.record() if use_gradviz and use_record else nullcontext():
                with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
                    y = (x * x).sin()
                loss = y.sum()
            g = gradviz.trace(loss) if use_gradviz else None
            loss.backward()
            return calls, g

        with_gradviz, g = run(True)
        assert with_gradviz == run(False)[0] == {"pack": 3, "unpack": 3}
        assert [s[1] for s in g.find("y").saved] == [None]  # packed: never unpacked to look

    def test_saved_tensors_without_hooks_still_show_their_shapes(self):
        x = torch.randn(2, 5, requires_grad=True)
        with gradviz.record():
            y = x.sin()
        g = gradviz.trace(y.sum())
        assert g.find("y").saved == [("self", (2, 5), "float32")]


class TestCallerLocals:
    """trace() reads the caller's variables for names; Python 3.11 hands it the same dict that
    the caller's locals() returned."""

    def test_the_dict_locals_returned_keeps_its_contents(self):
        def step():
            x = torch.ones(2, requires_grad=True)
            loss = (x * 3).sum()
            config = locals()  # a logger or config helper keeping the dict
            gradviz.trace(loss)
            return config

        config = step()
        assert isinstance(config.get("x"), torch.Tensor)
        assert isinstance(config.get("loss"), torch.Tensor)

    def test_a_helper_holding_locals_sees_them_after_trace(self):
        seen = []

        def log_vars(variables):
            seen.append(variables)

        def step():
            w = torch.ones(2, requires_grad=True)
            out = (w * 2).sum()
            log_vars(locals())
            g = gradviz.trace(out)
            return g

        g = step()
        assert set(seen[0]) >= {"w", "out"}
        assert g.find("w").kind == "leaf"  # names still found

    def test_a_tensor_deleted_after_trace_is_freed(self):
        import weakref

        def step():
            x = torch.ones(2, requires_grad=True)
            h = x * 3
            loss = h.sum()
            g = gradviz.trace(loss)
            ref = weakref.ref(h)
            del h, loss
            return g, ref

        g, ref = step()
        del g
        assert ref() is None


class TestTwoThreads:
    """Tracing and recording in two threads at once: each thread's results are its own, and
    torch's own hook registration is untouched."""

    @staticmethod
    def node_hooks_work():
        """A user's two pre-hooks on one node both run, and remove() removes them."""
        x = torch.ones(2, requires_grad=True)
        y = x * 2
        seen = []
        h1 = y.grad_fn.register_prehook(lambda g: seen.append(1))
        h2 = y.grad_fn.register_prehook(lambda g: seen.append(2))
        y.sum().backward(retain_graph=True)
        both = sorted(seen) == [1, 2]
        h1.remove()
        h2.remove()
        seen.clear()
        y.sum().backward()
        return both and seen == [] and h1.id != h2.id

    def test_torchs_hook_registration_works_during_and_after_tracing_in_threads(self):
        errors = []

        def tracer():
            x = torch.randn(4, requires_grad=True)
            h = x
            for _ in range(3000):
                h = h * 1.01
            try:
                for _ in range(6):
                    gradviz.trace(h, namespace={})
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        y = torch.ones(2, requires_grad=True) * 2
        ids = []
        threads = [threading.Thread(target=tracer) for _ in range(2)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # threads take turns often, as on a busy machine
        try:
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):  # the user's code meanwhile
                handle = y.grad_fn.register_prehook(lambda grads: None)
                ids.append(handle.id)
                handle.remove()
            for t in threads:
                t.join()
        finally:
            sys.setswitchinterval(interval)
        assert not errors
        assert len(set(ids)) == len(ids)  # each registration got its own handle
        assert self.node_hooks_work()

    def test_module_paths_recorded_in_two_threads_are_each_threads_own(self):
        barrier = threading.Barrier(2, timeout=30)

        class Meet(nn.Module):
            """Both threads are inside their model's forward at the same time."""

            def forward(self, x):
                barrier.wait()
                return x * 1.0

        results = {}

        def run(name, model):
            torch.manual_seed(0)
            x = torch.randn(2, 3)
            with gradviz.record():
                loss = model(x).sum()
            g = gradviz.trace(loss)
            results[name] = [g.nodes[i].module for i in range(len(g))
                             if g.nodes[i].op in ("AddmmBackward0", "MulBackward0")]

        models = {
            "a": nn.Sequential(nn.Linear(3, 3), Meet(), nn.Linear(3, 3)),
            "b": nn.Sequential(nn.Sequential(nn.Linear(3, 3), Meet()), nn.Linear(3, 3)),
        }
        threads = [threading.Thread(target=run, args=item) for item in models.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results["a"]) == ["0", "1", "2"]
        assert sorted(results["b"]) == ["0.0", "0.1", "1"]


class TestFailedBackward:
    """A backward that raises never reaches its end-of-pass callback: the hooks must still
    never record, or stay behind for, a later pass on the same graph."""

    def test_a_later_untraced_backward_is_not_captured_and_leaves_no_hook(self):
        x = torch.randn(3, requires_grad=True)
        z = x * 2
        loss = (z * z).sum()
        g = gradviz.trace(loss)

        def fails(grad):
            raise RuntimeError("the user's hook failed")

        handle = x.register_hook(fails)
        with pytest.raises(RuntimeError, match="user's hook failed"):
            loss.backward(retain_graph=True)
        handle.remove()
        first = g.capture.kept(g.find("z").id)[0].clone()
        assert torch.equal(first, 2 * z.detach())  # what the failed pass reached

        loss.backward(torch.tensor(10.0))  # untraced: gradviz must not take part
        assert torch.equal(g.capture.kept(g.find("z").id)[0], first)
        assert not g.capture.armed
        assert torch.allclose(x.grad, 10 * 8 * x.detach())

    def test_an_op_that_fails_in_backward_leaves_no_hook_for_the_next_pass(self):
        class FailsOnce(torch.autograd.Function):
            failed = False

            @staticmethod
            def forward(ctx, t):
                return t * 1.0

            @staticmethod
            def backward(ctx, grad):
                if not FailsOnce.failed:
                    FailsOnce.failed = True
                    raise ValueError("backward failed")
                return grad

        x = torch.randn(3, requires_grad=True)
        h = FailsOnce.apply(x.exp())
        loss = h.sum()
        g = gradviz.trace(loss)
        with pytest.raises(ValueError, match="backward failed"):
            loss.backward(retain_graph=True)
        order = list(g.capture.order)
        loss.backward()
        assert g.capture.order == order  # nothing from the second pass
        assert not g.capture.armed
        assert torch.allclose(x.grad, x.detach().exp())

    def test_a_reentrant_backward_inside_the_traced_pass_leaves_capture_on(self):
        torch.manual_seed(0)
        lin = nn.Linear(3, 3)
        x0 = torch.randn(2, 3)

        def forward(use_checkpoint):
            x = x0.clone().requires_grad_()
            h = lin(x)  # the weight is used here and inside the checkpointed block: its hook
            block = lambda t: lin(t).tanh()  # noqa: E731 - fires in both passes
            y = checkpoint(block, h, use_reentrant=True) if use_checkpoint else block(h)
            return x, h, y.pow(2).sum()

        x, h, loss = forward(False)
        expected_h, expected_x = torch.autograd.grad(loss, [h, x])
        x, h, loss = forward(True)
        g = gradviz.trace(loss)
        loss.backward()
        assert len(g.capture.order) == len(g) and not g.capture.armed
        assert torch.allclose(g.grad_of(h), expected_h)
        assert torch.allclose(g.find("x").grad, expected_x)
