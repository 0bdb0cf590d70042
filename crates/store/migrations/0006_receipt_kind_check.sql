-- `rc_receipts.kind` was checked with `kind IN ('vote', 'comment', 'notice_seen')`. SQLite
-- evaluates an IN list in a CHECK constraint by building an ephemeral B-tree of the list, and it
-- does so for every row inserted: on the return channel's writer, one receipt a message, that
-- was a B-tree and a page cache opened and closed per message, with their mutexes, about a tenth
-- of the writer's CPU in a profile at 64 boxes (docs/return-channel.md §16). The same rule
-- written as comparisons costs three string compares.
--
-- SQLite cannot change a constraint in place: the table is rebuilt (its rows copied in rowid
-- order, so the ids, and with them the order `load_ingest_memory` reads, are kept).
CREATE TABLE rc_receipts_new (
    id          INTEGER PRIMARY KEY,
    card_id     TEXT NOT NULL CHECK (length(card_id) = 16),
    seq         INTEGER NOT NULL,  -- u64 on the wire, stored as its two's-complement i64
    tag         BLOB NOT NULL CHECK (length(tag) = 32),
    kind        TEXT NOT NULL CHECK (kind = 'vote' OR kind = 'comment' OR kind = 'notice_seen'),
    status      TEXT NOT NULL,     -- 'stored' or a refusal's reason code
    sent_at     INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
INSERT INTO rc_receipts_new (id, card_id, seq, tag, kind, status, sent_at, received_at)
    SELECT id, card_id, seq, tag, kind, status, sent_at, received_at FROM rc_receipts ORDER BY id;
DROP TABLE rc_receipts;
ALTER TABLE rc_receipts_new RENAME TO rc_receipts;
