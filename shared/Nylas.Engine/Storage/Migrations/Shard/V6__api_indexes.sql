-- GET /threads derives each listed thread's unread and starred flags from its messages
-- (EXISTS ... m.thread_id = t.id AND m.is_read = 0 / m.is_starred = 1). Through ix_messages_thread alone
-- every check reads the message rows (bodies and all): a thread without a starred message is read whole.
-- With the flags in the index both checks are answered from the index. Measured by bench/Nylas.ApiBench
-- (BENCHMARKS.md, "API"): the thread page's list query on 100,000 messages 7.3 -> 1.6 ms (ANALYZE).
ALTER TABLE messages ADD KEY ix_messages_thread_flags (thread_id, is_read, is_starred);
