"""Durable storage (SQLite): the cards the service issued, the feedback the EHR sent on them, and the JWT ids seen
(the replay cache). One connection per process, serialised by a lock; WAL journal. Feedback is committed with
``synchronous=FULL`` (on disk before the 200 is sent); issued cards and token ids with ``NORMAL`` (they survive a
process crash or restart; only a power loss can drop the last few)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    uuid TEXT PRIMARY KEY, service TEXT NOT NULL, hook_instance TEXT, patient TEXT, indicator TEXT NOT NULL,
    summary TEXT NOT NULL, card TEXT NOT NULL, recommendations TEXT NOT NULL, issued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, card TEXT NOT NULL, outcome TEXT NOT NULL,
    override_code TEXT, override_system TEXT, override_display TEXT, user_comment TEXT, accepted_suggestions TEXT,
    outcome_timestamp TEXT NOT NULL, card_known INTEGER NOT NULL, client_iss TEXT, client_sub TEXT,
    received_at REAL NOT NULL, item TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_card ON feedback(card);
CREATE TABLE IF NOT EXISTS jti (iss TEXT NOT NULL, jti TEXT NOT NULL, exp REAL NOT NULL, PRIMARY KEY (iss, jti));
CREATE INDEX IF NOT EXISTS jti_exp ON jti(exp);
"""


class Store:
    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        with self.lock:
            if path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        self._purged = 0.0

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- replay cache ----------------------------------------------------------------------------------------------
    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        """Record a token id; False when it was seen before (a replay). Ids are kept until their token expires."""
        now = time.time()
        with self.lock:
            if now - self._purged > 60:
                self.db.execute("DELETE FROM jti WHERE exp < ?", (now - 600,))
                self._purged = now
            try:
                self.db.execute("INSERT INTO jti (iss, jti, exp) VALUES (?, ?, ?)", (iss, jti, exp))
            except sqlite3.IntegrityError:
                return False
        return True

    # -- cards -----------------------------------------------------------------------------------------------------
    def save_cards(self, service: str, hook_instance: str, patient: str, cards: list, rec_ids: dict) -> None:
        if not cards:
            return
        now = time.time()
        rows = [(c["uuid"], service, hook_instance, patient, c["indicator"], c["summary"],
                 json.dumps(c, ensure_ascii=False, separators=(",", ":")), json.dumps(rec_ids.get(c["uuid"], [])), now)
                for c in cards]
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")

    def card(self, uuid: str) -> dict | None:
        with self.lock:
            row = self.db.execute("SELECT service, hook_instance, patient, card, recommendations, issued_at FROM cards "
                                  "WHERE uuid = ?", (uuid,)).fetchone()
        if row is None:
            return None
        return {"service": row[0], "hookInstance": row[1], "patient": row[2], "card": json.loads(row[3]),
                "recommendations": json.loads(row[4]), "issued_at": row[5]}

    # -- feedback --------------------------------------------------------------------------------------------------
    def save_feedback(self, service: str, items: list, iss: str | None, sub: str | None) -> int:
        now = time.time()
        with self.lock:
            known = set()
            for it in items:
                if self.db.execute("SELECT 1 FROM cards WHERE uuid = ?", (it["card"],)).fetchone():
                    known.add(it["card"])
            rows = []
            for it in items:
                reason = (it.get("overrideReason") or {}).get("reason") or {}
                rows.append((service, it["card"], it["outcome"], reason.get("code"), reason.get("system"),
                             reason.get("display"), (it.get("overrideReason") or {}).get("userComment"),
                             json.dumps(it.get("acceptedSuggestions") or []), it["outcomeTimestamp"],
                             int(it["card"] in known), iss, sub, now,
                             json.dumps(it, ensure_ascii=False, separators=(",", ":"))))
            self.db.execute("PRAGMA synchronous=FULL")
            try:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.executemany(
                    "INSERT INTO feedback (service, card, outcome, override_code, override_system, override_display, "
                    "user_comment, accepted_suggestions, outcome_timestamp, card_known, client_iss, client_sub, "
                    "received_at, item) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self.db.execute("COMMIT")
            finally:
                self.db.execute("PRAGMA synchronous=NORMAL")
        return len(rows)

    def feedback(self, card: str | None = None) -> list[dict]:
        q = ("SELECT f.id, f.service, f.card, f.outcome, f.override_code, f.user_comment, f.outcome_timestamp, "
             "f.card_known, c.summary FROM feedback f LEFT JOIN cards c ON c.uuid = f.card")
        args: tuple = ()
        if card is not None:
            q += " WHERE f.card = ?"
            args = (card,)
        with self.lock:
            rows = self.db.execute(q + " ORDER BY f.id", args).fetchall()
        keys = ("id", "service", "card", "outcome", "override_code", "user_comment", "outcome_timestamp", "card_known",
                "card_summary")
        return [dict(zip(keys, r, strict=True)) for r in rows]
