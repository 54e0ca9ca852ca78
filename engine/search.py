"""Find jobs by business key (order, phone, retailer, wholesaler, credit account), by job-id prefix or by
the words of their errors, across every queue and state; newest first, one page at a time.

Key searches walk the smallest named index set (engine/search_index.py) newest first and check each job
against the whole filter, so the cost grows with the page, not with the server. A search by `q` alone looks
up the exact job id, then scans dead-letter entries for the words, then job ids for the prefix; every call
does a bounded amount of work and hands back a cursor to go on.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from . import id_scan, job_view, keys, search_index
from .app import Engine, resolve
from .errors import ValidationError
from .job_view import STATES

__all__ = ["SearchFilter", "STATES", "KEY_PARAMS", "search", "count", "iter_matches", "MAX_LIMIT"]

KEY_PARAMS = {"order_id": "order", "phone": "phone", "retailer_id": "retailer", "wholesaler_id": "wholesaler",
              "account_id": "account"}
MAX_LIMIT = 500
MAX_Q = 200
CHUNK = 200
SCAN_BUDGET = 5_000  # candidates looked at per page before handing back a cursor
SCAN_STEP = ""  # a prefix-scan step with no hit: counts SCAN_STEP_COST against a page's budget
SCAN_STEP_COST = 250  # so a page scans at most 20 SCAN steps (20,000 keyspace slots)
MIN_PREFIX = 4
# Unicode White_Space (what pydantic strips): q must hold something else
WHITE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_ID_SHAPED = re.compile(r"^(?:\{[A-Za-z][A-Za-z0-9_-]{0,63}\})?[A-Za-z0-9_-]{1,128}$")  # cluster ids: {queue}...
_CURSOR = re.compile(r"^(k|e):(\d{1,16}):([A-Za-z0-9_{}-]{1,194})$|^p:(\d{1,24}):([A-Za-z0-9_{}-]{0,194})$")


@dataclass(frozen=True)
class SearchFilter:
    order_id: str | None = None
    phone: str | None = None
    retailer_id: str | None = None
    wholesaler_id: str | None = None
    account_id: str | None = None
    q: str | None = None  # a job-id prefix, or words of an error message
    queue: str | None = None
    state: str | None = None

    def terms(self, region: str) -> list[tuple[str, str]]:
        """(kind, normalised value) of each key given; ValidationError naming the parameter."""
        out = []
        for param, kind in KEY_PARAMS.items():
            value = getattr(self, param)
            if value is None:
                continue
            try:
                out.append((kind, search_index.normalise_query(kind, value, region)))
            except ValidationError as exc:
                raise ValidationError(param, exc.message) from None
        return out

    def check(self, eng: Engine) -> list[tuple[str, str]]:
        """Validate the whole filter; returns its key terms."""
        terms = self.terms(eng.settings.phone_region)
        if self.q is not None and (not isinstance(self.q, str) or not self.q.strip(WHITE) or len(self.q) > MAX_Q):
            raise ValidationError("q", f"must be 1-{MAX_Q} characters")
        if self.queue is not None:
            eng.table[self.queue]
        if self.state is not None and self.state not in STATES:
            raise ValidationError("state", f"must be one of {', '.join(STATES)}")
        if not terms and self.q is None:
            raise ValidationError("q", "give at least one of order_id, phone, retailer_id, wholesaler_id, "
                                       "account_id or q")
        return terms

    def words(self) -> tuple[str, list[str]]:
        """q without surrounding white space, and its lower-cased words (all must appear in an error)."""
        q = (self.q or "").strip(WHITE)
        return q, (q.lower().split() or [q.lower()])

    def described(self) -> dict[str, str]:
        """The conditions given, for the audit log."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def _walk(eng: Engine, names: list[str], tag: str, after: tuple[int, str] | None) -> Iterator[tuple[str, str]]:
    """(cursor, job id) of time-scored sets merged as one (cluster mode: one per queue slot), newest first,
    from just after `after`; ties by id, as each set's walk orders them."""
    walks = [_walk_one(eng, name, after) for name in names]
    for s, job_id in heapq.merge(*walks, key=lambda pair: (-pair[0], pair[1])):
        yield f"{tag}:{s}:{job_id}", job_id


def _walk_one(eng: Engine, key: str, after: tuple[int, str] | None) -> Iterator[tuple[int, str]]:
    """(score, job id) of one time-scored set, newest first, from just after `after`. Re-reads by score
    rather than by offset, so entries added or dropped meanwhile never shift the walk."""
    last, extra = after, 0
    while True:
        high = str(last[0]) if last else "+inf"
        chunk = eng.conn.zrevrangebyscore(key, high, "-inf", start=extra, num=CHUNK, withscores=True)
        if not chunk:
            return
        moved = False
        for member, score in chunk:
            job_id, s = member.decode(), int(score)
            if last and s == last[0] and job_id >= last[1]:
                continue
            moved, last = True, (s, job_id)
            yield s, job_id
        extra = 0 if moved else extra + len(chunk)


def _dead_letters_with_words(eng: Engine, names: list[str], words: list[str],
                             after: tuple[int, str] | None) -> Iterator[tuple[str, str | None]]:
    """Dead-letter entries whose error type or message holds every word. Yields (cursor, None) for
    entries that do not match, so that the caller's budget counts them."""
    batch: list[tuple[str, str]] = []

    def flush():
        pipe = eng.conn.pipeline(transaction=False)
        for _pos, job_id in batch:
            pipe.hmget(keys.dlq_entry(job_id), ["error_type", "error_message"])
        for (pos, job_id), (etype, message) in zip(batch, pipe.execute()):
            text = f"{(etype or b'').decode(errors='replace')} {(message or b'').decode(errors='replace')}".lower()
            yield pos, (job_id if all(w in text for w in words) else None)

    for pos, job_id in _walk(eng, names, "e", after):
        batch.append((pos, job_id))
        if len(batch) == CHUNK:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def _index_keys(eng: Engine, flt: SearchFilter, term: tuple[str, str]) -> list[str]:
    """A key's index sets: one, or in cluster mode one per queue (the filter's queue only, when it names one)."""
    return sorted({keys.index(*term, q) for q in ([flt.queue] if flt.queue else eng.table.names)})


def _smallest_key(eng: Engine, flt: SearchFilter, terms: list[tuple[str, str]]) -> list[str]:
    """Of the keys given, the index with the fewest entries: the walk checks the others per job."""
    if len(terms) == 1:
        return _index_keys(eng, flt, terms[0])
    groups = [_index_keys(eng, flt, term) for term in terms]
    pipe = eng.conn.pipeline(transaction=False)
    for name in (n for names in groups for n in names):
        pipe.zcard(name)
    sizes, out, at = pipe.execute(), [], 0
    for term, names in zip(terms, groups):
        out.append((sum(sizes[at:at + len(names)]), term))
        at += len(names)
    return _index_keys(eng, flt, min(out)[1])


TOP = f"e:{10 ** 15}:_"  # a dead-letter-scan cursor before every entry


def _candidates(eng: Engine, flt: SearchFilter, source_key: list[str] | None,
                cursor: str | None) -> Iterator[tuple[str, str | None]]:
    """The filter's candidate stream: (cursor after this candidate, job id or None for a non-match)."""
    m = _CURSOR.fullmatch(cursor) if cursor else None
    if cursor and not m:
        raise ValidationError("cursor", "not a cursor returned by an earlier search")
    phase = cursor[0] if cursor else ""
    # A well-formed cursor of another kind of search is read by its position (time, id), or as the end.
    if source_key is not None:
        if phase == "p":
            return
        yield from _walk(eng, source_key, "k", (int(m.group(2)), m.group(3)) if m else None)
        return
    phase = "e" if phase == "k" else phase
    q, words = flt.words()
    id_shaped = bool(_ID_SHAPED.fullmatch(q))
    if phase == "" and id_shaped and eng.conn.exists(keys.job(q), keys.dlq_entry(q)):
        yield TOP, q  # the exact job first
    if phase in ("", "e"):
        dlq = [keys.dlq_queue(flt.queue)] if flt.queue else keys.dlq_alls(eng.table.names)
        after = (int(m.group(2)), m.group(3)) if phase == "e" else None
        for pos, job_id in _dead_letters_with_words(eng, dlq, words, after):
            yield pos, (None if job_id == q else job_id)
    if id_shaped and len(q) >= MIN_PREFIX:
        start, after_id = (int(m.group(4)), m.group(5)) if phase == "p" else (0, "")
        for pos, job_id in id_scan.prefix_scan(eng, q, start, after_id, SCAN_STEP):
            yield pos, (None if job_id == q else job_id)  # the exact job came first


def _matches(eng: Engine, flt: SearchFilter, terms: list[tuple[str, str]], item: dict[str, Any]) -> bool:
    if flt.queue and item["queue"] != flt.queue:
        return False
    if flt.state and item["state"] != flt.state:
        return False
    if terms:
        try:
            named = search_index.terms(eng.table[item["queue"]], item["data"], eng.settings.phone_region)
        except ValidationError:  # a queue no longer in the table: trust the index
            named = set(terms)
        if not set(terms) <= named:  # the data was edited since: the old key no longer names this job
            return False
        if flt.q:
            q, words = flt.words()
            return item["id"].startswith(q) or all(w in job_view.error_text(item) for w in words)
    return True


def iter_matches(flt: SearchFilter, *, cursor: str | None = None, budget: int | None = None,
                 engine: Engine | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(cursor after it, item) for every matching job, newest first. With a `budget`, stops after that many
    candidates and then yields ("more:" + cursor, {}) once. Index entries of vanished jobs are dropped."""
    eng = resolve(engine)
    terms = flt.check(eng)
    source_key = _smallest_key(eng, flt, terms) if terms else None
    source = _candidates(eng, flt, source_key, cursor)
    seen, stale, returned = 0, [], set()
    try:
        while True:
            batch = []
            for pos, job_id in source:
                seen += SCAN_STEP_COST if job_id == SCAN_STEP else 1
                batch.append((pos, job_id or None))
                if len(batch) == CHUNK or (budget is not None and seen >= budget):
                    break
            if not batch:
                return
            ids = [j for _p, j in batch if j is not None and j not in returned]
            loaded = job_view.load(eng, ids, all_errors=bool(flt.q))
            for pos, job_id in batch:
                item = loaded.get(job_id) if job_id else None
                if job_id and item is None and source_key:
                    stale.append(job_id)
                if item is not None and job_id not in returned and _matches(eng, flt, terms, item):
                    returned.add(job_id)
                    yield pos, item
            if budget is not None and seen >= budget:
                yield "more:" + batch[-1][0], {}
                return
    finally:
        if stale:
            search_index.drop_stale(eng, search_index.stale_by_key(source_key, stale))


def search(flt: SearchFilter, *, limit: int = 50, cursor: str | None = None,
           engine: Engine | None = None) -> dict[str, Any]:
    """{"items": [...], "next_cursor": str | None}: one page of matching jobs, newest first. A page may hold
    fewer than `limit` items and still have a next_cursor when the bounded scan stopped first."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be 1-{MAX_LIMIT}")
    items: list[dict[str, Any]] = []
    next_cursor = None
    for pos, item in iter_matches(flt, cursor=cursor, budget=SCAN_BUDGET, engine=engine):
        if pos.startswith("more:"):
            next_cursor = pos[5:]
            break
        items.append(job_view.public(item))
        if len(items) == limit:
            next_cursor = pos
            break
    return {"items": items, "next_cursor": next_cursor}


def count(flt: SearchFilter, *, cap: int = 10_000, engine: Engine | None = None) -> int:
    """How many jobs match, counting no further than cap + 1 (enough to say "more than the cap")."""
    n = 0
    for _pos, _item in iter_matches(flt, engine=engine):
        n += 1
        if n > cap:
            break
    return n
