import os
import signal
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from inertial_diffusion import EmpiricalDiffusion, InertialDiffusion  # noqa: E402
from inertial_diffusion.evaluation.datasets import Sphere  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    return Sphere(2, 8, random_state=0).sample(1000, random_state=1) * 3.0 + 1.0


@pytest.mark.parametrize("rows_per_chunk", [100, 333, 1000])
@pytest.mark.parametrize("sampler", ["one_shot", "sde"])
def test_sharded_equals_local(client, data, rows_per_chunk, sampler):
    kw = dict(sampler=sampler, n_steps=8, random_state=4)
    local = InertialDiffusion(**kw).fit(data)
    sharded = InertialDiffusion(client=client, **kw).fit(da.from_array(data, chunks=(rows_per_chunk, 8)))
    assert sharded.bandwidth_ == pytest.approx(local.bandwidth_, rel=1e-12)
    np.testing.assert_allclose(sharded.scale_, local.scale_, rtol=1e-12)
    S_local, S_sharded = local.sample(200), sharded.sample(200)
    assert np.abs(S_sharded - S_local).max() <= 1e-10 * local.scale_
    x = data[:5] + 0.1
    np.testing.assert_allclose(sharded.posterior_mean(x, 0.05), local.posterior_mean(x, 0.05), rtol=1e-10)
    np.testing.assert_allclose(sharded.score_function(x, 0.05), local.score_function(x, 0.05), rtol=1e-10)
    np.testing.assert_allclose(sharded.log_density(x, 0.05), local.log_density(x, 0.05), rtol=1e-12)


@pytest.mark.parametrize("rows_per_chunk", [100, 333])
def test_moment_step_on_dask_draws_what_the_local_backend_draws(client, data, rows_per_chunk):
    """The shards key their noise by global row index: the same seed gives the local backend's samples."""
    kw = dict(inertia="moment", random_state=4)
    local = InertialDiffusion(**kw).fit(data)
    sharded = InertialDiffusion(client=client, **kw).fit(da.from_array(data, chunks=(rows_per_chunk, 8)))
    assert np.abs(sharded.sample(150) - local.sample(150)).max() <= 1e-10 * local.scale_


def test_empirical_diffusion_on_dask(client, data):
    S = EmpiricalDiffusion(client=client, random_state=0).fit(da.from_array(data, chunks=(250, 8))).sample(50)
    local = EmpiricalDiffusion(random_state=0).fit(data).sample(50)
    assert np.abs(S - local).max() <= 1e-10 * 3.0


def test_the_driver_never_materializes_the_data(client, monkeypatch):
    # n above twice the 5000-row sample that the intrinsic-dimension estimate gathers
    X = da.from_array(Sphere(2, 8, random_state=0).sample(12000, random_state=2), chunks=(1000, 8))
    n = X.shape[0]

    def refuse(self, *args, **kwargs):
        raise AssertionError("a Dask array was converted to numpy on the driver")

    real_compute = distributed.Client.compute

    def guarded_compute(self, collections, *args, **kwargs):
        for c in collections if isinstance(collections, (list, tuple)) else [collections]:
            if isinstance(c, da.Array) and c.ndim == 2 and c.shape[0] >= n // 2:
                raise AssertionError(f"compute of a {c.shape} slab of the training data")
        return real_compute(self, collections, *args, **kwargs)

    monkeypatch.setattr(da.Array, "__array__", refuse)
    monkeypatch.setattr(da.Array, "compute", refuse)
    monkeypatch.setattr(distributed.Client, "compute", guarded_compute)
    model = InertialDiffusion(client=client, random_state=0).fit(X)
    assert model.sample(100).shape == (100, 8)


def test_bad_dask_input(client):
    bad = da.from_array(np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), chunks=(2, 2))
    with pytest.raises(ValueError, match="NaN"):
        InertialDiffusion(client=client, bandwidth=0.3).fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        InertialDiffusion(client=client).fit(da.ones((5, 2, 2)))
    with pytest.raises(ValueError, match="not supported for Dask"):
        InertialDiffusion(client=client, bandwidth=0.3).fit(da.random.random((20, 3), chunks=10), np.arange(20) % 2)


def test_worker_killed_mid_run_is_retried(client, data):
    """A worker process is SIGKILLed at a known step of a 40-step SDE (from the sampler's callback): its nanny
    starts a fresh one, what the dead worker held (shard chunks, scattered queries) is recomputed or re-sent, and
    the run gives exactly the local result.

    The kill goes to the pid, not through ``client.run(os._exit)``: that call raced the scheduler's own removal of
    the worker (a KeyError from the broadcast in 3 of 12 runs under load). The callback then waits, bounded, until
    the scheduler has dropped the dead worker, so that the next step never races the failure detection.
    """
    X = da.from_array(data, chunks=(100, 8))
    kw = dict(sampler="sde", n_steps=40, random_state=7)
    expected = InertialDiffusion(**kw).fit(data).sample(100)
    model = InertialDiffusion(client=client, **kw).fit(X)
    pids = client.run(os.getpid)  # {worker address: process id}
    killed = []

    def kill_at_step_5(info):
        if info["i"] == 5 and not killed:
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)
            deadline = time.monotonic() + 60
            while victim in client.scheduler_info()["workers"]:
                assert time.monotonic() < deadline, "the scheduler did not notice the killed worker within 60 s"
                time.sleep(0.05)

    samples = model.sample(100, callback=kill_at_step_5)
    assert killed and killed[0] not in client.scheduler_info()["workers"]
    assert np.abs(samples - expected).max() <= 1e-10 * model.scale_
    client.wait_for_workers(2, timeout=60)


def test_npy_stack_and_scheduler_address(client, data, tmp_path):
    da.to_npy_stack(tmp_path / "stack", da.from_array(data, chunks=(250, 8)), axis=0)
    X = da.from_npy_stack(tmp_path / "stack")
    model = InertialDiffusion(client=client.scheduler.address, random_state=2).fit(X)  # an address string
    try:
        np.testing.assert_allclose(model.sample(30), InertialDiffusion(random_state=2).fit(data).sample(30),
                                   rtol=0, atol=1e-10 * model.scale_)
    finally:
        model.client_.close()


def test_column_chunks_are_rejoined_into_whole_rows(client, data):
    """A shard must hold whole rows: a Dask array chunked across columns is rechunked, not misread."""
    local = EmpiricalDiffusion(random_state=0).fit(data)
    for chunks in ((250, 1), (250, 3)):
        sharded = EmpiricalDiffusion(client=client, random_state=0).fit(da.from_array(data, chunks=chunks))
        np.testing.assert_allclose(sharded.posterior_mean(data[:4], 0.1), local.posterior_mean(data[:4], 0.1),
                                   rtol=1e-10, atol=1e-12)


def test_broadcast_is_retried_when_a_worker_leaves_during_it(client, monkeypatch):
    """The race the kill test used to lose (a worker removed while the scheduler replicates the queries: a
    KeyError from ``scatter(broadcast=True)``), made deterministic: the first broadcasts fail, the next one
    reaches the workers; after BROADCAST_ATTEMPTS failures the error is passed on."""
    from inertial_diffusion.backends import dask as dask_backend

    real_scatter, calls = distributed.Client.scatter, []

    def failing(fails):
        def scatter(self, *args, **kwargs):
            calls.append(kwargs.get("broadcast"))
            if len(calls) <= fails:
                raise KeyError("tcp://127.0.0.1:1")  # what the scheduler raises for a departed worker
            return real_scatter(self, *args, **kwargs)
        return scatter

    queries = np.arange(6.0).reshape(2, 3)
    monkeypatch.setattr(distributed.Client, "scatter", failing(dask_backend.BROADCAST_ATTEMPTS - 1))
    future = dask_backend._broadcast(client, queries)
    np.testing.assert_array_equal(future.result(), queries)
    assert calls == [True] * dask_backend.BROADCAST_ATTEMPTS
    calls.clear()
    monkeypatch.setattr(distributed.Client, "scatter", failing(dask_backend.BROADCAST_ATTEMPTS))
    with pytest.raises(KeyError):
        dask_backend._broadcast(client, queries)
    assert len(calls) == dask_backend.BROADCAST_ATTEMPTS


def test_max_memory_reaches_every_shard_task(client, data, monkeypatch):
    """Each shard task's posterior loop gets the estimator's max_memory (it was ignored on Dask)."""
    import dask

    seen = []
    real = dask.delayed

    def recording(fn, *args, **kwargs):
        wrapped = real(fn, *args, **kwargs)
        if getattr(fn, "__name__", "") != "_shard_partial":
            return wrapped

        def call(*task_args):
            seen.append(task_args[-1])
            return wrapped(*task_args)
        return call

    monkeypatch.setattr(dask, "delayed", recording)
    budget = 3 * 2**20
    model = InertialDiffusion(client=client, max_memory=budget, random_state=0)
    S = model.fit(da.from_array(data, chunks=(250, 8))).sample(20)
    assert len(seen) >= 4 and set(seen) == {budget} and np.isfinite(S).all()
