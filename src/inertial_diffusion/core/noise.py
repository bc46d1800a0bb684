"""Counter-keyed Gaussian noise ``ε[q, j]`` for (query, training row) pairs, independent of how work is split.

The moment-matched inertia step (:mod:`inertial_diffusion.core.inertia`) draws one standard normal
``ε[q, j]`` for every query ``q`` and training row ``j`` inside the streamed posterior reduction. The hot
loop visits those pairs in blocks whose shape depends on ``chunk_size``, ``max_memory``, the float32
certificate (rows redone in float64) and the sharding of a Dask array. For the same seed to give the same
samples under every such plan, ``ε[q, j]`` must be a function of ``(key, q, j)`` alone, never of the order
in which the blocks are visited.

:class:`KeyedNoise` makes it so by tiling the (query, row) plane into fixed tiles of
:data:`QUERY_TILE` x :data:`ROW_TILE` entries; each tile is one call of ``torch.randn`` on a generator
seeded from ``(key, query tile, row tile)`` by the SplitMix64 finalizer. A block is cut out of the
tiles that cover it. The tiles are drawn in float32 (and converted to the computation dtype), so a
float32 row that the certificate redoes in float64 keeps its noise. Measured on 2 cores: ~3-4 ns per
normal, against ~5.7 ns per logit of the GEMM at D = 784 (``benchmarks/moment.py``).

A limit, measured: torch's CPU generator keeps the low 32 bits of a seed, so two tiles of one call share their
noise with probability ~``T^2 / 2^33`` for ``T`` tiles (about 0.03 pairs for 1000 queries against 60 000 rows,
a few hundred pairs at 2e6 tiles). A shared tile correlates two blocks of 32 x 256 (query, row) noises; each
query's noise over the rows stays independent, and the effect on the samples is below their sampling error.

The key itself comes from the caller's generator (:meth:`KeyedNoise.from_generator`): randomness is
injected, never global. Across devices the noise is the same only where the device's generator draws the
same stream from the same seed (CPU and CUDA generators do not), as for every other draw of the package.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["KeyedNoise", "QUERY_TILE", "ROW_TILE"]

#: Queries per noise tile (a block of a few queries wastes at most this many rows of draws).
QUERY_TILE = 32
#: Training rows per noise tile; the default chunks of the posterior loop (256 rows in float32, 1024 in
#: float64) are multiples of it, so they cut no tile in two.
ROW_TILE = 256

_MASK64 = (1 << 64) - 1


def _splitmix64(value: int) -> int:
    """The SplitMix64 finalizer: a bijective 64-bit mix (Steele, Lea & Flood 2014)."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


@dataclass(frozen=True)
class KeyedNoise:
    """Standard normals ``ε[q, j]`` keyed by ``(key, q, j)``: the same for every block plan.

    Parameters
    ----------
    key : int
        The stream's key, a non-negative integer (from :meth:`from_generator`).
    row_offset : int, default 0
        Added to the row indices of :meth:`block` (a shard of a Dask array starts at its global offset).
    device : str, default "cpu"
        Device type of the generators that draw the tiles (the blocks are moved to the caller's device).
    choose : bool, default False
        Also choose one training row per query from the posterior, by the Gumbel-max trick on the same noise
        (:class:`~inertial_diffusion.core.posterior.Partial`): what a table's discrete columns are drawn from.

    Examples
    --------
    >>> import torch
    >>> noise = KeyedNoise(12345)
    >>> whole = noise.block(torch.arange(5), 0, 600, torch.float64)
    >>> whole.shape
    torch.Size([5, 600])
    >>> part = noise.block(torch.tensor([3, 1]), 250, 300, torch.float64)  # any block: the same entries
    >>> bool(torch.equal(part, whole[[3, 1], 250:300]))
    True
    >>> bool(torch.equal(KeyedNoise(12345, row_offset=250).block(torch.arange(5), 0, 50, torch.float64),
    ...                  whole[:, 250:300]))  # a shard that starts at row 250
    True
    """

    key: int
    row_offset: int = 0
    device: str = "cpu"
    choose: bool = False

    @classmethod
    def from_generator(cls, generator: torch.Generator | None, choose: bool = False) -> "KeyedNoise":
        """A stream keyed by one 62-bit integer drawn from ``generator``.

        Parameters
        ----------
        generator : torch.Generator or None
            The caller's generator (None: torch's default generator).
        choose : bool, default False
            Also choose a posterior row per query (see the class).

        Returns
        -------
        KeyedNoise
            On the generator's device type.
        """
        device = generator.device if generator is not None else torch.device("cpu")
        key = int(torch.randint(0, 2**62, (1,), generator=generator, device=device).item())
        return cls(key, 0, device.type, choose)

    def shifted(self, rows: int) -> "KeyedNoise":
        """The same stream with the row indices shifted by ``rows`` (a shard starting at row ``rows``).

        Parameters
        ----------
        rows : int
            Offset added to :attr:`row_offset`.

        Returns
        -------
        KeyedNoise
        """
        return KeyedNoise(self.key, self.row_offset + int(rows), self.device, self.choose)

    def _seed(self, query_tile: int, row_tile: int) -> int:
        return _splitmix64(self.key ^ _splitmix64((query_tile << 32) ^ row_tile)) & ((1 << 63) - 1)

    def block(self, queries: torch.Tensor, r0: int, r1: int, dtype: torch.dtype,
              device: torch.device | str | None = None) -> torch.Tensor:
        """The noise of the given queries against rows ``r0 .. r1 - 1`` (plus :attr:`row_offset`).

        Parameters
        ----------
        queries : Tensor (q,) of int64
            Query indices (within the call that drew the key), in any order, repeats allowed.
        r0, r1 : int
            The rows ``[r0, r1)``, before :attr:`row_offset` is added.
        dtype : torch.dtype
            Dtype of the result (the tiles are drawn in float32).
        device : torch.device or str, optional
            Device of the result (default: the generators' device).

        Returns
        -------
        Tensor (q, r1 - r0)
            ``ε[queries[i], r0 + row_offset + k]`` at ``[i, k]``.
        """
        gen_device = torch.device(self.device)
        queries = queries.to(device="cpu", dtype=torch.int64)
        g0, g1 = r0 + self.row_offset, r1 + self.row_offset
        if queries.numel() == 0 or g1 <= g0:
            return torch.empty((queries.numel(), max(g1 - g0, 0)), dtype=dtype, device=device or gen_device)
        first, last = int(queries.min()), int(queries.max())
        contiguous = last - first + 1 == queries.numel() and bool((queries[1:] - queries[:-1] == 1).all())
        tiles_q = (torch.arange(first // QUERY_TILE, last // QUERY_TILE + 1) if contiguous
                   else torch.unique(queries // QUERY_TILE))
        t0, t1 = g0 // ROW_TILE, (g1 - 1) // ROW_TILE + 1
        n_rt = t1 - t0
        tiles = torch.empty((tiles_q.numel(), n_rt, QUERY_TILE, ROW_TILE), dtype=torch.float32, device=gen_device)
        generator = torch.Generator(device=gen_device)
        for a, qt in enumerate(tiles_q.tolist()):
            for b, rt in enumerate(range(t0, t1)):
                generator.manual_seed(self._seed(qt, rt))
                torch.randn((QUERY_TILE, ROW_TILE), generator=generator, out=tiles[a, b])  # contiguous: fast
        buffer = tiles.permute(0, 2, 1, 3).reshape(tiles_q.numel() * QUERY_TILE, n_rt * ROW_TILE)
        cols = slice(g0 - t0 * ROW_TILE, g1 - t0 * ROW_TILE)
        if contiguous:
            q0 = first - int(tiles_q[0]) * QUERY_TILE
            out = buffer[q0:q0 + queries.numel(), cols]
        else:
            position = torch.searchsorted(tiles_q, queries // QUERY_TILE) * QUERY_TILE + queries % QUERY_TILE
            out = buffer[position.to(gen_device), cols]
        return out.to(device=device or gen_device, dtype=dtype, copy=out.data_ptr() == tiles.data_ptr())
