-- Full-text search over the mirror (/messages/search, /threads/search): the subject plus search_text,
-- which ingest fills with the participants' names and addresses, the body's visible text and the
-- attachments' names (Nylas.Core.Search.SearchText). Searching never asks the mail server.
ALTER TABLE messages ADD COLUMN search_text MEDIUMTEXT NULL AFTER body;

-- Messages stored before this migration: participants from the JSON columns, the body without its tags.
UPDATE messages SET search_text = CONCAT_WS(' ',
  JSON_EXTRACT(from_json, '$[*].name'), JSON_EXTRACT(from_json, '$[*].email'),
  JSON_EXTRACT(to_json, '$[*].name'), JSON_EXTRACT(to_json, '$[*].email'),
  JSON_EXTRACT(cc_json, '$[*].name'), JSON_EXTRACT(cc_json, '$[*].email'),
  JSON_EXTRACT(bcc_json, '$[*].name'), JSON_EXTRACT(bcc_json, '$[*].email'),
  REGEXP_REPLACE(body, '<[^>]*>', ' '));

ALTER TABLE messages ADD FULLTEXT KEY ft_messages_search (subject, search_text);
