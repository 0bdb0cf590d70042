-- Notices that grid workers push to the households of their grids (CAP 1.2-like message types).

CREATE TABLE notices (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id),
    author       TEXT NOT NULL CHECK (length(author) > 0),
    title        TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 30),
    body         TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 300),
    urgency      TEXT NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    message_type TEXT NOT NULL CHECK (message_type IN ('alert', 'update', 'cancel')),
    references_id INTEGER REFERENCES notices(id),
    valid_from   INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    sent_at      INTEGER NOT NULL,
    CHECK (valid_until > valid_from),
    CHECK ((message_type = 'alert') = (references_id IS NULL))
);
CREATE INDEX notices_community ON notices(community_id, id);

CREATE TABLE notice_grids (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    grid_id   INTEGER NOT NULL REFERENCES grids(id),
    PRIMARY KEY (notice_id, grid_id)
) WITHOUT ROWID;

-- Notices are never edited or deleted: an update or a cancellation is a new notice.
CREATE TRIGGER notices_never_change BEFORE UPDATE ON notices
BEGIN
    SELECT RAISE(ABORT, 'notices are never edited: push an update or a cancellation instead');
END;
CREATE TRIGGER notices_never_vanish BEFORE DELETE ON notices
BEGIN
    SELECT RAISE(ABORT, 'notices are never deleted: push a cancellation instead');
END;
