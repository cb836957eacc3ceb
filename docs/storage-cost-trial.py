#!/usr/bin/env python3
"""What the store's SQL costs on its own, outside the daemon: the floor under presence-sync's CPU per change.

The daemon's benchmark (`presence-sync benchmark`) measures everything at once. This trial replays only the
statements a change costs, on the store's schema and pragmas, with Python's sqlite3 (the same system libsqlite3):
100,000 users are recorded once, then each cycle changes a random 10% of them. Per change, as PresenceStore does:
read the user's presence_current row, close its open history row (valid_to), append a history row, replace
presence_current, append an outbox row; a passive WAL checkpoint ends each cycle.

It prints the process CPU time (user + system) of each cycle. Python adds its own overhead per statement (about a
fifth of the total in a perf profile), so read the figures as an upper bound of SQLite's part, and compare variants
with each other rather than with the daemon.

    python3 docs/storage-cost-trial.py                       # the store's layout, transactions of 300 changes
    python3 docs/storage-cost-trial.py --transaction 10000   # one transaction per cycle
    python3 docs/storage-cost-trial.py --layout clustered    # history clustered by (user_id, valid_from)
    python3 docs/storage-cost-trial.py --skip close,outbox   # leave statements out to see their share

Options: --layout store|no-index|clustered, --transaction N, --cache-kib N, --synchronous FULL|NORMAL|OFF,
--page-size N, --users N, --cycles N, --skip close,current,outbox, --path FILE.
"""

import argparse
import os
import random
import sqlite3
import time
import uuid

STATE_COLUMNS = (
    "availability TEXT NOT NULL, activity TEXT NOT NULL, status_message TEXT, out_of_office INTEGER NOT NULL, "
    "out_of_office_message TEXT, work_location TEXT, sequence_number TEXT"
)

HISTORY = {
    # The store's layout (migrations 1-7).
    "store": f"""
        CREATE TABLE presence_history (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, {STATE_COLUMNS},
            changed_fields TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT);
        CREATE INDEX presence_history_by_user ON presence_history (user_id, valid_from);""",
    # Without the per-user index (history queries by user would scan the table).
    "no-index": f"""
        CREATE TABLE presence_history (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, {STATE_COLUMNS},
            changed_fields TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT);""",
    # Clustered by user, so closing a row and appending the next touch the same page.
    "clustered": f"""
        CREATE TABLE presence_history (id INTEGER NOT NULL UNIQUE, user_id TEXT NOT NULL, {STATE_COLUMNS},
            changed_fields TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT,
            PRIMARY KEY (user_id, valid_from)) WITHOUT ROWID;""",
}

OTHER_TABLES = f"""
    CREATE TABLE presence_current (user_id TEXT PRIMARY KEY,
        history_id INTEGER NOT NULL REFERENCES presence_history (id), {STATE_COLUMNS}, since TEXT NOT NULL,
        last_seen TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE outbox (history_id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, previous_availability TEXT,
        previous_activity TEXT, previous_status_message TEXT, previous_out_of_office INTEGER,
        previous_out_of_office_message TEXT, previous_work_location TEXT, previous_since TEXT, {STATE_COLUMNS},
        changed_fields TEXT NOT NULL, since TEXT NOT NULL);"""

AVAILABILITIES = ["Available", "Busy", "Away", "DoNotDisturb", "BeRightBack", "Offline"]
MESSAGES = [None, None, "In a meeting until 3 – call me on “Teams”", "Working from home\nback at 2pm", "Vacation 🌴"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", choices=sorted(HISTORY), default="store")
    parser.add_argument("--transaction", type=int, default=300, help="changes per transaction")
    parser.add_argument("--cache-kib", type=int, default=2048)
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--page-size", type=int, default=4096)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--skip", default="", help="comma-separated: close, current, outbox")
    parser.add_argument("--path", default="/tmp/presence-sync-storage-trial.db")
    options = parser.parse_args()
    skip = set(filter(None, options.skip.split(",")))

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(options.path + suffix):
            os.remove(options.path + suffix)
    db = sqlite3.connect(options.path, isolation_level=None)
    db.execute(f"PRAGMA page_size = {options.page_size}")
    db.executescript(
        f"""PRAGMA journal_mode = WAL; PRAGMA synchronous = {options.synchronous};
        PRAGMA cache_size = -{options.cache_kib}; PRAGMA wal_autocheckpoint = 16384; PRAGMA foreign_keys = ON;"""
    )
    db.executescript(HISTORY[options.layout] + OTHER_TABLES)

    rng = random.Random(7)
    users = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(options.users)]
    next_id = [1]

    def state():
        availability = rng.choice(AVAILABILITIES)
        sequence = "0123456789abcdef0123456789abcdef%08d" % rng.getrandbits(20)
        return (availability, availability, rng.choice(MESSAGES), 0, None, rng.choice(["office", "remote", None]),
                sequence)

    def change(user, new, now):
        previous = db.execute(
            """SELECT history_id, availability, activity, status_message, out_of_office, out_of_office_message,
               work_location, since FROM presence_current WHERE user_id = ?""", (user,)).fetchone()
        if previous and "close" not in skip:
            db.execute("UPDATE presence_history SET valid_to = ? WHERE id = ?", (now, previous[0]))
        history_id = next_id[0]
        next_id[0] += 1
        db.execute(
            """INSERT INTO presence_history (id, user_id, availability, activity, status_message, out_of_office,
               out_of_office_message, work_location, sequence_number, changed_fields, valid_from)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", (history_id, user) + new + ("availability,activity", now))
        if "current" not in skip or not previous:
            db.execute(
                """INSERT INTO presence_current VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (user_id) DO UPDATE SET history_id = excluded.history_id,
                   availability = excluded.availability, activity = excluded.activity,
                   status_message = excluded.status_message, out_of_office = excluded.out_of_office,
                   out_of_office_message = excluded.out_of_office_message, work_location = excluded.work_location,
                   sequence_number = excluded.sequence_number, since = excluded.since, last_seen = excluded.last_seen""",
                (user, history_id) + new + (now, now))
        if "outbox" not in skip:
            old = previous[1:] if previous else (None,) * 7
            db.execute("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (history_id, user) + tuple(old) + new + ("availability,activity", now))

    def cycle(number, changing):
        start = 1.8e9 + number * 10
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)) + ".000Z"
        before = os.times()
        for first in range(0, len(changing), options.transaction):
            db.execute("BEGIN IMMEDIATE")
            for user in changing[first:first + options.transaction]:
                change(user, state(), now)
            db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        after = os.times()
        return (after.user - before.user) + (after.system - before.system)

    initial = cycle(0, users)
    steady = [cycle(n, rng.sample(users, options.users // 10)) for n in range(1, options.cycles + 1)]
    median = sorted(steady)[len(steady) // 2]
    print(f"layout {options.layout}, {options.transaction} changes per transaction, skip {sorted(skip) or 'nothing'}")
    print(f"initial load of {options.users} users: {initial:.2f} s CPU")
    print("steady cycles (s CPU): " + " ".join(f"{s:.2f}" for s in steady))
    print(f"median {median:.3f} s per cycle of {options.users // 10} changes: "
          f"{median / (options.users // 10) * 1e6:.0f} µs per change, "
          f"{median / options.users * 1e6:.1f} µs per observation at a 10% change rate")


if __name__ == "__main__":
    main()
