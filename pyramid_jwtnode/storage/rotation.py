"""Refresh-token rotation, stated once: the state machine, and its two forms side by side.

A refresh family is one record ``{cur, prev, rot, retry, start, end}``: the current refresh
token id, the one before it, when it was rotated, whether its one retry was used, when the
family started, and whether it ended. Presenting refresh token ``presented`` (issued at
``issued_at``) at ``now`` does, atomically, the first that applies:

=================================================  ===================  ======================
the record                                         outcome              the record after
=================================================  ===================  ======================
missing (never started, or expired)                ``unknown``          --
ended                                              ``ended``            unchanged
the subject's cut-off is at or after ``iat``       ``subject_revoked``  ended (``end_ttl``)
``now > start + max_age``                          ``expired``          unchanged
``cur == presented``                               ``rotated``          ``cur = new``,
                                                                        ``prev = presented``
``prev == presented`` within ``grace``, no retry   ``retried``          ``cur = new``, retry
                                                                        used
anything else (an older token: reuse)              ``reused``           ended (``end_ttl``)
=================================================  ===================  ======================

After ``rotated`` or ``retried`` the record is kept until the new token could expire,
``min(lifetime, start + max_age - now) + slack`` seconds (:func:`kept_for`); an ended one
``end_ttl`` seconds, as long as its access tokens could live.

:func:`rotate_record` is the Python form (the memory store runs it under its lock);
:data:`ROTATE_LUA` is the Lua form (Redis runs it as one script on the family's key and its
subject's cut-off, which share a hash slot). ``tests/test_refresh_families.py`` runs both
through the rows of the table and requires the same outcomes.
"""

from __future__ import annotations

from typing import Final

from .base import Rotation

__all__ = ["Family", "rotate_record", "kept_for", "ROTATE_LUA"]


class Family:
    """A refresh family in memory: the fields of the Redis hash, in a fixed small object."""

    __slots__ = ("cur", "prev", "rot", "retry", "start", "end")
    cur: str | None
    prev: str | None
    rot: int
    retry: bool
    start: int
    end: bool

    def __init__(self, current: str | None, start: int) -> None:
        self.cur, self.prev, self.rot, self.retry = current, None, 0, False
        self.start, self.end = start, False


def kept_for(now: int, start: int, lifetime: int, max_age: int, slack: int) -> int:
    """Seconds a family is kept after a rotation at ``now``: until its new token could expire."""
    return max(1, min(lifetime, start + max_age - now) + slack)


def rotate_record(record: Family | None, presented: str, new: str, now: int, *, grace: int,
                  max_age: int, cut: int | None, issued_at: float) -> Rotation:
    """The table above, in Python: the outcome, with ``record`` changed in place (``cut`` is
    the subject's cut-off, if any). The caller keeps the record."""
    if record is None:
        return Rotation.UNKNOWN
    if record.end:
        return Rotation.ENDED
    if cut is not None and issued_at <= cut:
        record.end = True
        return Rotation.SUBJECT_REVOKED
    if now > record.start + max_age:
        return Rotation.EXPIRED
    if record.cur == presented:
        record.cur, record.prev, record.rot, record.retry = new, presented, now, False
        return Rotation.ROTATED
    if grace > 0 and record.prev == presented and now - record.rot <= grace and not record.retry:
        record.cur, record.retry = new, True
        return Rotation.RETRIED
    record.end = True
    return Rotation.REUSED


#: The table above, in Lua. KEYS[1] the family (a hash of the record's fields), KEYS[2] (when
#: given) its subject's cut-off, in the same hash slot. ARGV: presented, new, now, grace,
#: max_age, end_ttl, issued_at, lifetime, slack. Returns {outcome, start}.
ROTATE_LUA: Final = """
local h = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'rot', 'retry', 'start', 'end')
if not h[5] then return {'unknown', 0} end
local start = tonumber(h[5])
if h[6] == '1' then return {'ended', start} end
if KEYS[2] then
  local cut = redis.call('GET', KEYS[2])
  if cut and tonumber(ARGV[7]) <= tonumber(cut) then
    redis.call('HSET', KEYS[1], 'end', '1')
    redis.call('EXPIRE', KEYS[1], ARGV[6])
    return {'subject_revoked', start}
  end
end
local now = tonumber(ARGV[3])
local max_age = tonumber(ARGV[5])
if now > start + max_age then return {'expired', start} end
local outcome
if h[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'rot', now, 'retry', '0')
  outcome = 'rotated'
else
  local grace = tonumber(ARGV[4])
  if grace > 0 and h[2] == ARGV[1] and h[4] ~= '1' and now - tonumber(h[3]) <= grace then
    redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'retry', '1')
    outcome = 'retried'
  else
    redis.call('HSET', KEYS[1], 'end', '1')
    redis.call('EXPIRE', KEYS[1], ARGV[6])
    return {'reused', start}
  end
end
local keep = math.min(tonumber(ARGV[8]), start + max_age - now) + tonumber(ARGV[9])
redis.call('EXPIRE', KEYS[1], math.max(1, keep))
return {outcome, start}
"""
