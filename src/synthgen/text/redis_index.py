"""A dedup index in Redis, shared by every worker of a job: the verdicts of
:class:`~synthgen.text.index.DedupIndex`, with check-and-add atomic across processes.

Texts are sketched here, in Python, by the same :class:`Sketcher`; Redis holds, under one key
prefix written as a hash tag (so a Redis Cluster keeps a job's keys on one slot):

- ``{prefix}:m``: the index's parameters (a worker with other ones is refused) and counters;
- ``{prefix}:e``: entry id -> its digest, tag and key, and its sorted unique shingle hashes,
  from which the script confirms a candidate with the exact Jaccard, as the in-memory index
  does (a MinHash estimate would give other verdicts near the threshold);
- ``{prefix}:b:<i>``: band key -> entry ids, digest -> entry id, key -> entry id, spread over
  ``buckets`` small hashes, each small enough for Redis' compact listpack encoding.

One Lua script checks, adds, or does both. Redis runs one script at a time, so of two workers
offering near copies of each other, the second always sees the first: never both accepted.
Each call is one round trip.

Adding a key already in under the same text is a no-op, so a resumed job can re-add what it
had accepted, and an add that reached Redis just before the worker died is not refused as a
copy of itself when the worker curates the same reply again.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from synthgen.errors import ConfigError, IndexLostError
from synthgen.redact import register_secret
from synthgen.text.index import Features, Match, sketch
from synthgen.text.minhash import Sketcher

if TYPE_CHECKING:
    import redis

__all__ = ["RedisDedupIndex", "open_redis_index", "shown_url"]

DEFAULT_BUCKETS = 1 << 16  # ~25 band fields per bucket at 100k entries: listpack-sized
_LABEL = struct.Struct(">H")
_BAND = struct.Struct(">BQ")

# KEYS: meta, entries, the key's bucket, the digest's bucket, one bucket per band.
# ARGV: mode (check | add | check_add), key field, digest field, threshold, entry, band fields.
# An entry is digest (16 bytes), label length (2), "tag\tkey", shingle hashes (uint32 BE,
# sorted, unique). Replies: nil, or {reason, label, intersection, union}.
_SCRIPT = """
local mode, kfield, xfield = ARGV[1], ARGV[2], ARGV[3]
local threshold, entry = tonumber(ARGV[4]), ARGV[5]
local nbands = #KEYS - 4
local function decode(s)
  local skip = 19 + string.byte(s, 17) * 256 + string.byte(s, 18)
  local out, n = {}, 0
  for i = skip, #s - 3, 4 do
    local a, b, c, d = string.byte(s, i, i + 3)
    n = n + 1
    out[n] = ((a * 256 + b) * 256 + c) * 256 + d
  end
  return out
end
local function label(s)
  return string.sub(s, 19, 18 + string.byte(s, 17) * 256 + string.byte(s, 18))
end
local stale = false
if mode ~= 'check' then
  local have = redis.call('HGET', KEYS[3], kfield)
  if have then
    local old = redis.call('HGET', KEYS[2], have)
    if old and string.sub(old, 1, 16) == string.sub(entry, 1, 16) then return nil end
    stale = have  -- the key under another text (a reply that changed): pointed anew below
  end
end
local exact = redis.call('HGET', KEYS[4], xfield)
if exact and mode ~= 'add' then
  return {'exact_duplicate', label(redis.call('HGET', KEYS[2], exact)), 1, 1}
end
local values, seen, candidates = {}, {}, {}
for i = 1, nbands do
  local v = redis.call('HGET', KEYS[4 + i], ARGV[5 + i])
  values[i] = v
  if v and mode ~= 'add' then
    for id in string.gmatch(v, '%d+') do
      if not seen[id] and id ~= stale then
        seen[id] = true
        candidates[#candidates + 1] = tonumber(id)
      end
    end
  end
end
if #candidates > 0 then
  table.sort(candidates)  -- entry order, as the in-memory index breaks ties
  local mine = decode(entry)
  local best, found = -1, nil
  for _, id in ipairs(candidates) do
    local other = redis.call('HGET', KEYS[2], id)
    local theirs = decode(other)
    local i, j, inter = 1, 1, 0
    while i <= #mine and j <= #theirs do
      if mine[i] == theirs[j] then
        inter, i, j = inter + 1, i + 1, j + 1
      elseif mine[i] < theirs[j] then
        i = i + 1
      else
        j = j + 1
      end
    end
    local union = #mine + #theirs - inter
    local sim = 1
    if union > 0 then sim = inter / union end
    if sim >= threshold and sim > best then
      best, found = sim, {'near_duplicate', label(other), inter, union}
    end
  end
  if found then return found end
end
if mode == 'check' then return nil end
if not stale then redis.call('HINCRBY', KEYS[1], 'count', 1) end
if exact then  -- an add of a text already in: the key names the entry that has it
  redis.call('HSET', KEYS[3], kfield, exact)
  return nil
end
local id = redis.call('HINCRBY', KEYS[1], 'next', 1)
redis.call('HSET', KEYS[2], id, entry)
redis.call('HSET', KEYS[3], kfield, id)
redis.call('HSET', KEYS[4], xfield, id)
for i = 1, nbands do
  local v = values[i]
  if v then v = v .. ',' .. id else v = id end
  redis.call('HSET', KEYS[4 + i], ARGV[5 + i], v)
end
return nil
"""


def shown_url(url: str) -> str:
    """``url`` as messages may show it: no password or user, no query."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return url.split("@")[-1].split("?")[0]


def open_redis_index(
    url: str,
    *,
    prefix: str,
    owner: str = "",
    threshold: float = 0.8,
    name: str = "dedup index",
) -> RedisDedupIndex:
    """The index at ``url`` (``redis://[:password@]host:port/db``, ``rediss://``,
    ``unix://``), under ``?prefix=`` if the URL gives one, else ``prefix``; ``?buckets=`` sets
    how many hashes spread the bands (all workers of a prefix must agree). ConfigError naming
    the URL (never its password) when Redis cannot be reached or holds other parameters;
    ``name`` is how messages call the setting."""
    import redis

    shown = shown_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"{name} {shown!r} must be a redis://, rediss:// or unix:// URL")
    register_secret(parts.password)
    query = dict(parse_qsl(parts.query))
    query.pop("decode_responses", None)  # the replies are read as bytes
    prefix = query.pop("prefix", prefix)
    if not prefix or "{" in prefix or "}" in prefix:
        raise ConfigError(f"{name} {shown!r}: the prefix must be non-empty, without braces")
    try:
        buckets = int(query.pop("buckets", DEFAULT_BUCKETS))
    except ValueError:
        raise ConfigError(f"{name} {shown!r}: buckets must be a whole number") from None
    if buckets < 1:
        raise ConfigError(f"{name} {shown!r}: buckets must be at least 1")
    plain = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    try:
        # A script takes milliseconds: a Redis silent for 10 s is lost, not busy.
        client = redis.Redis.from_url(plain, socket_connect_timeout=5, socket_timeout=10)
        client.ping()
    except (redis.RedisError, ValueError) as e:
        raise ConfigError(f"{name} {shown}: cannot use Redis there ({_why(e)})") from None
    return RedisDedupIndex(
        client,
        prefix=prefix,
        owner=owner,
        threshold=threshold,
        buckets=buckets,
        where=shown,
    )


def _why(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class RedisDedupIndex:
    """:class:`~synthgen.text.index.DedupIndex` in Redis, under ``prefix``. ``owner`` (the
    job) is put before keys, so jobs sharing a prefix never take each other's keys for their
    own; matches report keys of other owners as ``owner/key``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        owner: str = "",
        threshold: float = 0.8,
        num_perm: int = 128,
        seed: int = 1,
        buckets: int = DEFAULT_BUCKETS,
        where: str = "redis",
    ) -> None:
        self.threshold = threshold
        self.prefix = prefix
        self._sketcher = Sketcher(threshold, num_perm=num_perm, seed=seed)
        self._client = client
        self._where = where
        self._owner = f"{owner}/" if owner else ""
        tag = "{" + prefix + "}"
        self._meta, self._entries, self._bucket = f"{tag}:m", f"{tag}:e", f"{tag}:b:"
        self._buckets = buckets
        self._script = client.register_script(_SCRIPT)
        params = f"threshold={threshold!r} num_perm={num_perm} seed={seed} buckets={buckets}"
        stored = self._call(self._set_params, params)
        if stored != params.encode():
            raise ConfigError(
                f"dedup index {where} prefix {prefix!r} was made with {stored.decode()}, not "
                f"{params}: give this job another ?prefix="
            )

    def _set_params(self, params: str) -> Any:
        pipe = self._client.pipeline()
        pipe.hsetnx(self._meta, "params", params)
        pipe.hget(self._meta, "params")
        return pipe.execute()[1]

    @property
    def params(self) -> tuple[int, int]:
        """The LSH (bands, rows) in use."""
        return self._sketcher.bands, self._sketcher.rows

    def __len__(self) -> int:
        """How many keys the index holds, from every worker and job under its prefix."""
        return int(self._call(self._client.hget, self._meta, "count") or 0)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        field = self._key_field(key)
        return bool(self._call(self._client.hexists, self._bucket_of(field), field))

    def features(self, text: str) -> Features:
        """The sketch of ``text``: the same as the in-memory index's."""
        return sketch(self._sketcher, text)

    def check(self, text: str) -> Match | None:
        """The entry ``text`` duplicates (exact first, else the most similar near one), or None."""
        return self.check_features(self.features(text))

    def add(self, key: str, text: str, tag: str = "accepted") -> None:
        """Index ``text`` under ``key`` without checking it; a no-op when ``key`` already
        holds this text."""
        self.add_features(key, self.features(text), tag)

    def check_and_add(self, key: str, text: str, tag: str = "accepted") -> Match | None:
        """``check(text)``; if it matched nothing, also ``add(key, text, tag)``: atomically."""
        return self.check_and_add_features(key, self.features(text), tag)

    def check_features(self, features: Features) -> Match | None:
        """:meth:`check` of a text already sketched."""
        return self._run("check", "", features, "")

    def add_features(self, key: str, features: Features, tag: str = "accepted") -> None:
        """:meth:`add` of a text already sketched."""
        self._run("add", key, features, tag)

    def check_and_add_features(
        self, key: str, features: Features, tag: str = "accepted"
    ) -> Match | None:
        """:meth:`check_and_add` of a text already sketched."""
        return self._run("check_add", key, features, tag)

    def add_many(self, items: list[tuple[str, str, str]]) -> None:
        """:meth:`add` of many (key, text, tag), pipelined: one round trip per 500."""
        for start in range(0, len(items), 500):
            pipe = self._client.pipeline(transaction=False)
            for key, text, tag in items[start : start + 500]:
                keys, args = self._script_input("add", key, self.features(text), tag)
                self._script(keys=keys, args=args, client=pipe)
            self._call(pipe.execute)

    def delete(self) -> int:
        """Remove every key of this prefix (tests, benchmarks, a job given up); how many."""
        pattern = "{" + self.prefix + "}:*"
        removed = 0
        batch: list[bytes] = []
        for name in self._client.scan_iter(match=pattern, count=1000):
            batch.append(name)
            if len(batch) == 1000:
                removed += int(self._client.unlink(*batch))
                batch = []
        if batch:
            removed += int(self._client.unlink(*batch))
        return removed

    # -- the script ---------------------------------------------------------------------
    def _run(self, mode: str, key: str, features: Features, tag: str) -> Match | None:
        keys, args = self._script_input(mode, key, features, tag)
        reply = self._call(self._script, keys=keys, args=args)
        return None if reply is None else self._match(reply)

    def _script_input(
        self, mode: str, key: str, features: Features, tag: str
    ) -> tuple[list[str], list[bytes | str]]:
        import numpy as np

        label = f"{tag}\t{self._owner}{key}".encode()
        shingles = np.unique(features.shingles).astype(">u4").tobytes()
        entry = features.digest + _LABEL.pack(len(label)) + label + shingles
        key_field = self._key_field(key)
        digest_field = b"x" + features.digest
        bands = [_BAND.pack(i, k) for i, k in enumerate(features.band_keys)]
        keys = [self._meta, self._entries, self._bucket_of(key_field)]
        keys += [self._bucket_of(f) for f in (digest_field, *bands)]
        return keys, [mode, key_field, digest_field, repr(self.threshold), entry, *bands]

    def _key_field(self, key: str) -> bytes:
        return b"k" + f"{self._owner}{key}".encode()

    def _bucket_of(self, field: bytes) -> str:
        return f"{self._bucket}{zlib.crc32(field) % self._buckets}"

    def _match(self, reply: list[Any]) -> Match:
        reason, label, inter, union = reply
        tag, _, key = label.decode().partition("\t")
        if self._owner and key.startswith(self._owner):
            key = key[len(self._owner) :]
        if reason == b"exact_duplicate":
            return Match("exact_duplicate", key, tag, 1.0)
        return Match("near_duplicate", key, tag, int(inter) / int(union))

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return function(*args, **kwargs)
        except redis.RedisError as e:
            self._lost(e)

    def _lost(self, error: BaseException) -> NoReturn:
        raise IndexLostError(
            f"dedup index {self._where} lost ({_why(error)}); what was curated is journaled: "
            "run the same command again once Redis is back"
        ) from None
