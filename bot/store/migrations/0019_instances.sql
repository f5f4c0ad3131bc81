-- Several instances of the bot on one PostgreSQL database (issue 27). On SQLite there is
-- one process: the tables exist so that both databases keep one schema, and stay empty.

-- Each running instance, and when it last said it was alive (seconds since 1970 by the
-- database's clock, so that instances on machines whose clocks differ agree). An update
-- in the inbox names the instance that received it (``owner``): one whose instance has
-- gone quiet is taken over by another (bot/store/inbox.py, ``take_over``).
CREATE TABLE instances (
    id      TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
ALTER TABLE inbox ADD COLUMN owner TEXT;

-- The send rate of the bot as a whole (telegram_channel/sendpace.py): per limit ('all',
-- or a group chat's id), the theoretical time of the next send (the GCRA's "TAT"), by
-- the database's clock.
CREATE TABLE send_pace (
    key     TEXT PRIMARY KEY,
    next_at REAL NOT NULL
);

-- Which sender took a notification (bot/store/outbox.py, ``claim``): one that sends for
-- longer than its lease (a group's 20 a minute) renews its claim on the rest only while
-- no other took them meanwhile (``keep``), so none is sent twice.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
