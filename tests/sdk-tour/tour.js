#!/usr/bin/env node
// A scripted tour of this API through the Nylas v2 Node SDK (npm `nylas` 6.11.1, pinned in
// package-lock.json): the calls an app written for the hosted Nylas v2 API makes, run unchanged
// against our server. Plain Node (>= 18), CommonJS.
//
//   node tour.js            runs the tour, prints one JSON document of results on stdout
//   node tour.js connect    connects a mailbox: POST /a/{client_id}/accounts through the SDK's own
//                           request path (client-secret auth, JSON sent as text/plain), prints the
//                           account with its access token
//   node tour.js authorize  the same through the SDK's native auth: Nylas.connect.authorize() then
//                           Nylas.connect.token() (POST /connect/authorize, POST /connect/token)
//   node tour.js webhooks   Nylas.webhooks: build().save() (create; the server challenges the callback),
//                           list(), find(), save() with a new state, delete(); prints the steps
//   node tour.js verify     a delivery a receiver got: WebhookNotification.verifyWebhookSignature on
//                           its raw body, and the SDK's WebhookNotification model of it
//
// Environment (the names of .dev/env, so `source .dev/env && node tests/sdk-tour/tour.js` works):
//   NYLAS_API_URL          base URL of the API, e.g. http://127.0.0.1:5080
//   NYLAS_CLIENT_ID        application client id
//   NYLAS_CLIENT_SECRET    application client secret
//   NYLAS_ACCESS_TOKEN     account access token (the tour only)
//   NYLAS_TOUR_SEARCH      the search query (optional; default: the longest word of the newest subject)
//   NYLAS_TOUR_SEND_TO     an address to send to (optional): runs the sending steps, which need an account
//                          connected with SMTP settings
//   NYLAS_CONNECT_BODY     `connect`/`authorize`: {email_address, name, provider, settings} as
//                          POST /a/{client_id}/accounts takes it
//   NYLAS_WEBHOOK_CALLBACK `webhooks`: the callback URL to subscribe (it must answer the challenge)
//   NYLAS_WEBHOOK_BODY_FILE, NYLAS_WEBHOOK_SIGNATURE
//                          `verify`: the file holding a delivery's exact body, and its X-Nylas-Signature
//
// Every SDK call is one step. A step records {ok: true, result} or {ok: false, error}; steps that
// need an earlier step's result are not run when it failed. The document is printed in either
// case; when any step failed the exit code is 1 and stderr names the failed steps. The tour
// judges nothing else: the test (tests/Nylas.Integration.Tests/SdkTourTests.cs) compares the
// results with what it put in the mailbox.
'use strict';

const crypto = require('crypto');
const Nylas = require('nylas');
const NylasConnection = require('nylas/lib/nylas-connection').default;
const SDK_VERSION = require('nylas/package.json').version;

function env(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`tour: ${name} is not set (see the comment at the top of tour.js)\n`);
    process.exit(2);
  }
  return value;
}

function configure() {
  Nylas.config({
    clientId: env('NYLAS_CLIENT_ID'),
    clientSecret: env('NYLAS_CLIENT_SECRET'),
    apiServer: env('NYLAS_API_URL').replace(/\/+$/, ''),
    timeout: 60000,
  });
}

// ---------------------------------------------------------------------------------------------
// Steps

const steps = {};

function describeError(e) {
  if (!e) return { message: String(e) };
  return {
    name: e.name,
    status: e.statusCode,
    type: e.type,
    message: e.message,
  };
}

/**
 * Runs one SDK call; `needs` are earlier results that must exist (a failed step yields undefined).
 * Returns what the call returned; records `record(that)`.
 */
async function step(name, needs, fn, record = (x) => x) {
  const missing = needs.findIndex((n) => n === undefined || n === null);
  if (missing >= 0) {
    steps[name] = { ok: false, error: { message: 'not run: an earlier step it needs failed' } };
    return undefined;
  }
  try {
    const result = await fn();
    steps[name] = { ok: true, result: record(result) };
    return result;
  } catch (e) {
    steps[name] = { ok: false, error: describeError(e) };
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// What the SDK's models hold (read through the models' own properties, so a field the SDK does
// not map shows up as missing here)

const unix = (d) => (d instanceof Date ? Math.round(d.getTime() / 1000) : d === undefined ? null : d);
const emails = (list) => (list || []).map((p) => p.email);

function message(m) {
  return {
    id: m.id,
    object: m.object,
    account_id: m.accountId,
    thread_id: m.threadId,
    subject: m.subject,
    from: emails(m.from),
    from_names: (m.from || []).map((p) => p.name),
    to: emails(m.to),
    cc: emails(m.cc),
    bcc: emails(m.bcc),
    date: unix(m.date),
    snippet: m.snippet,
    body_length: typeof m.body === 'string' ? m.body.length : null,
    unread: m.unread,
    starred: m.starred,
    folder: m.folder ? { id: m.folder.id, name: m.folder.name, display_name: m.folder.displayName } : null,
    labels: (m.labels || []).map((l) => l.name || l.displayName),
    files: (m.files || []).map((f) => ({ id: f.id, filename: f.filename, content_type: f.contentType, size: f.size })),
    events: (m.events || []).map((e) => e.id),
    headers: m.headers || null,
  };
}

function thread(t) {
  return {
    id: t.id,
    object: t.object,
    subject: t.subject,
    participants: emails(t.participants),
    first_message_timestamp: unix(t.firstMessageTimestamp),
    last_message_timestamp: unix(t.lastMessageTimestamp),
    unread: t.unread,
    starred: t.starred,
    version: t.version,
    folders: (t.folders || []).map((f) => f.name || f.displayName),
    message_ids: t.messageIds || [],
    messages: (t.messages || []).map(message),
  };
}

const folder = (f) => ({ id: f.id, object: f.object, name: f.name, display_name: f.displayName });

const contact = (c) => ({
  id: c.id,
  object: c.object,
  emails: (c.emailAddresses || []).map((e) => e.email),
  given_name: c.givenName,
  surname: c.surname,
});

const event = (e) => ({
  id: e.id,
  object: e.object,
  calendar_id: e.calendarId,
  message_id: e.messageId,
  ical_uid: e.iCalUID,
  title: e.title,
  location: e.location,
  owner: e.owner,
  participants: emails(e.participants),
  status: e.status,
  busy: e.busy,
  read_only: e.readOnly,
  when: e.when ? e.when.toJSON() : null,
});

const file = (f) => ({
  id: f.id,
  object: f.object,
  filename: f.filename,
  content_type: f.contentType,
  size: f.size,
  message_ids: f.messageIds || [],
  content_disposition: f.contentDisposition,
});

const ids = (list) => list.map((m) => m.id);

// ---------------------------------------------------------------------------------------------
// Filter values, picked from the mailbox itself so the tour runs against any account; each is
// chosen to select some messages but not all, where the mailbox allows it.

function mostCommon(values) {
  const counts = new Map();
  for (const v of values) if (v) counts.set(v, (counts.get(v) || 0) + 1);
  let best;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)) best = v;
  return best;
}

function pickFilters(all, account) {
  const own = (account && account.emailAddress || '').toLowerCase();
  const filters = {};
  const subject = mostCommon(all.map((m) => m.subject));
  if (subject) filters.subject = { subject };
  const from = mostCommon(all.flatMap((m) => emails(m.from)));
  if (from) filters.from = { from };
  const to = all.flatMap((m) => emails(m.to)).find((e) => e.toLowerCase() !== own) || all.flatMap((m) => emails(m.to))[0];
  if (to) filters.to = { to };
  const cc = all.flatMap((m) => emails(m.cc))[0];
  if (cc) filters.cc = { cc };
  const bcc = all.flatMap((m) => emails(m.bcc))[0];
  if (bcc) filters.bcc = { bcc };
  // Two addresses as an array: the SDK sends repeated keys (any_email=a&any_email=b).
  const anyEmail = [...new Set([cc, all.length ? emails(all[all.length - 1].from)[0] : undefined].filter(Boolean))];
  if (anyEmail.length) filters.any_email = { any_email: anyEmail };
  const threadId = mostCommon(all.map((m) => m.threadId));
  if (threadId) filters.thread_id = { thread_id: threadId };
  filters.in_inbox = { in: 'inbox' };
  filters.unread = { unread: true };
  filters.starred = { starred: true };
  const attachment = all.flatMap((m) => m.files || []).find((f) => f.filename);
  if (attachment) filters.filename = { filename: attachment.filename };
  if (all.length >= 2) {
    // The same instant splits the mailbox: received_before is inclusive, received_after exclusive.
    const pivot = unix(all[Math.floor(all.length / 2)].date);
    filters.received_before = { received_before: pivot };
    filters.received_after = { received_after: pivot };
  }
  filters.in_inbox_unread = { in: 'inbox', unread: true };
  return filters;
}

function longestWord(text) {
  return (text || '').split(/[^\p{L}\p{N}]+/u).sort((a, b) => b.length - a.length)[0] || '';
}

// ---------------------------------------------------------------------------------------------
// The tour

async function tour() {
  configure();
  const nylas = Nylas.with(env('NYLAS_ACCESS_TOKEN'));

  const account = await step('account.get', [], async () => {
    const a = await nylas.account.get();
    return {
      id: a.id, object: a.object, account_id: a.accountId, email_address: a.emailAddress, name: a.name,
      provider: a.provider, organization_unit: a.organizationUnit, sync_state: a.syncState,
      linked_at: unix(a.linkedAt),
    };
  });
  // Client-secret auth on /a/{client_id}/… (the SDK picks the secret by the path prefix).
  await step('accounts.list (application)', [], async () =>
    (await Nylas.accounts.list()).map((a) => ({ id: a.id, email: a.emailAddress, sync_state: a.syncState })));

  // Messages. list() without a limit pages in 100s until a short page: every message.
  const all = await step('messages.list', [], async () => nylas.messages.list(), (list) => list.map(message));
  await step('messages.count', [], async () => nylas.messages.count());
  await step('messages.list ids', [], async () => nylas.messages.list({ view: 'ids' }));
  await step('messages.list page', [], async () => ids(await nylas.messages.list({ limit: 2, offset: 1 })));
  await step('messages.first', [], async () => message(await nylas.messages.first()));

  const newest = all && all[0];
  const second = all && all[1];
  await step('messages.find', [newest], async () => message(await nylas.messages.find(newest.id)));
  await step('messages.find expanded', [newest], async () => message(await nylas.messages.find(newest.id, { view: 'expanded' })));
  // Comma-joined ids in the path: GET /messages/{a},{b}.
  await step('messages.findMultiple', [newest, second], async () =>
    (await nylas.messages.findMultiple([newest.id, second.id])).map(message));
  // Accept: message/rfc822; the SDK returns the body as text only for exactly that content type.
  await step('messages.findRaw', [newest], async () => {
    const raw = await nylas.messages.findRaw(newest.id);
    return { id: newest.id, type: typeof raw, length: typeof raw === 'string' ? raw.length : null, raw };
  });
  await step('messages.find unknown id', [], async () => {
    try {
      await nylas.messages.find('doesnotexist0000000000000');
      return { thrown: false };
    } catch (e) {
      return { thrown: true, error: describeError(e) };
    }
  });

  const filters = all ? pickFilters(all, account && { emailAddress: account.email_address }) : {};
  for (const [name, params] of Object.entries(filters)) {
    await step(`messages.list filter ${name}`, [], async () => ({ params, ids: ids(await nylas.messages.list({ ...params })) }));
  }
  if (filters.unread) {
    await step('messages.count filter unread', [], async () => ({ params: filters.unread, count: await nylas.messages.count({ ...filters.unread }) }));
  }

  const q = process.env.NYLAS_TOUR_SEARCH || (newest && longestWord(newest.subject));
  await step('messages.search', [q], async () => ({ q, messages: (await nylas.messages.search(q)).map(message) }));

  // Threads.
  const threads = await step('threads.list', [], async () => nylas.threads.list(), (list) => list.map(thread));
  await step('threads.count', [], async () => nylas.threads.count());
  const longest = threads && [...threads].sort((a, b) => (b.messageIds || []).length - (a.messageIds || []).length)[0];
  // expanded: true is the SDK's spelling of view=expanded.
  await step('threads.find expanded', [longest], async () => thread(await nylas.threads.find(longest.id, { expanded: true })));
  await step('threads.search', [q], async () => ({ q, threads: (await nylas.threads.search(q)).map(thread) }));

  // Folders, contacts, calendars, events, files.
  await step('folders.list', [], async () => (await nylas.folders.list()).map(folder));
  await step('contacts.list', [], async () => (await nylas.contacts.list()).map(contact));
  await step('calendars.list', [], async () =>
    (await nylas.calendars.list()).map((c) => ({ id: c.id, name: c.name, read_only: c.readOnly })));
  await step('events.list', [], async () => (await nylas.events.list()).map(event));

  // The change feed. The mailbox does not change during the tour, so: the whole log from cursor 0 (since,
  // with the SDK's camelCase includeTypes), an empty long poll from the latest cursor, and a stream from 0.
  const delta = (d) => ({
    object: d.object, event: d.event, id: d.id, cursor: d.cursor,
    attributes_id: d.objectAttributes ? d.objectAttributes.id : null,
    subject: d.objectAttributes ? d.objectAttributes.subject : null,
  });
  const latest = await step('deltas.latestCursor', [], async () => nylas.deltas.latestCursor());
  await step('deltas.since', [], async () => {
    const page = await nylas.deltas.since('0', { includeTypes: ['message'] });
    return { cursor_start: page.cursorStart, cursor_end: page.cursorEnd, deltas: page.deltas.map(delta) };
  });
  await step('deltas.longPoll', [latest], async () => {
    // longPoll with includeTypes fails inside the SDK (notes: quirk 2); excludeTypes works.
    const poll = await nylas.deltas.longPoll(latest, 1, { excludeTypes: ['contact'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { poll.close(); reject(new Error('no long-poll answer in 20 s')); }, 20000);
      poll.on('delta', (page) => {
        clearTimeout(timer);
        poll.close();
        resolve({ cursor_start: page.cursorStart, cursor_end: page.cursorEnd, deltas: (page.deltas || []).map(delta) });
      });
      poll.on('error', (e) => { clearTimeout(timer); poll.close(); reject(e instanceof Error ? e : new Error(JSON.stringify(e))); });
    });
  });
  await step('deltas.startStream', [], async () => {
    const expected = await nylas.messages.count();
    const stream = await nylas.deltas.startStream('0', { includeTypes: ['message'] });
    return new Promise((resolve, reject) => {
      const seen = [];
      const done = () => { clearTimeout(timer); stream.close(); resolve({ deltas: seen, last_cursor: stream.cursor }); };
      const timer = setTimeout(done, 20000);
      stream.on('delta', (d) => {
        seen.push({ object: d.object, event: d.event, id: d.id, cursor: d.cursor, subject: d.attributes ? d.attributes.subject : null });
        if (new Set(seen.filter((x) => x.event === 'create').map((x) => x.id)).size >= expected) done();
      });
      stream.on('error', (e) => { clearTimeout(timer); stream.close(); reject(e instanceof Error ? e : new Error(JSON.stringify(e))); });
    });
  });
  const files = await step('files.list', [], async () => nylas.files.list(), (list) => list.map(file));
  const attachment = files && files.find((f) => f.contentDisposition === 'attachment') || (files && files[0]);
  await step('files.download', [attachment], async () => {
    const f = await nylas.files.find(attachment.id);
    const download = await f.download();
    const body = download.body;
    return {
      id: f.id,
      filename: f.filename,
      content_type_header: download['content-type'],
      content_disposition_header: download['content-disposition'],
      size: body.length,
      sha256: crypto.createHash('sha256').update(body).digest('hex'),
      base64: body.length <= 1 << 20 ? body.toString('base64') : null,
    };
  });


  // ---- Writes: metadata and uploaded files (issue #10, Scope 3 and 4). After the change feed's steps, which
  // expect a mailbox that does not change. message.save() sends folder_id, starred and unread as they are,
  // plus metadata; thread.save() sends no metadata in this SDK, so threads are left to the API tests.
  const saved = await step('message.save metadata', [newest], async () => {
    const m = await nylas.messages.find(newest.id);
    m.metadata = { tour: 'sdk-6.11.1', ticket: 'T-42' };
    const returned = await m.save();
    const found = await nylas.messages.find(newest.id);
    return { id: m.id, returned: returned.metadata, found: found.metadata, unread: found.unread, starred: found.starred };
  });
  await step('messages.list metadata_pair', [saved], async () => ids(await nylas.messages.list({ metadata_pair: { ticket: 'T-42' } })));
  const uploadBytes = Buffer.from(`uploaded by the v2 SDK tour, ${new Date().toISOString()}\n`, 'utf8');
  const uploaded = await step('file.upload', [], async () => {
    const f = nylas.files.build({ filename: 'tour upload.txt', data: uploadBytes, contentType: 'text/plain' });
    await f.upload();
    return { ...file(f), message_ids: f.messageIds || [], sent_size: uploadBytes.length, sent_sha256: crypto.createHash('sha256').update(uploadBytes).digest('hex') };
  });
  await step('file.upload download', [uploaded], async () => {
    const body = (await (await nylas.files.find(uploaded.id)).download()).body;
    return { id: uploaded.id, size: body.length, sha256: crypto.createHash('sha256').update(body).digest('hex') };
  });
  await step('files.delete', [uploaded], async () => {
    await nylas.files.delete(uploaded.id);
    try {
      await nylas.files.find(uploaded.id);
      return { id: uploaded.id, found_after_delete: true };
    } catch (e) {
      return { id: uploaded.id, found_after_delete: false, error: describeError(e) };
    }
  });
  await writes(nylas);
  await drafts(nylas, process.env.NYLAS_TOUR_SEND_TO);

  // Sending, last (it adds to the mailbox what the steps above read), and only with NYLAS_TOUR_SEND_TO: the
  // account needs SMTP settings. An unsaved draft's send() posts the whole draft (labels: [], from: [], date: null);
  // a raw-MIME draft posts its bytes as message/rfc822. Each answer is the sent message, found again by its id.
  const sendTo = process.env.NYLAS_TOUR_SEND_TO;
  if (sendTo) {
    const stamp = `${Date.now()}`;
    const sent = await step('drafts.build send', [], async () => message(await nylas.drafts.build({
      subject: `SDK tour send ${stamp}`,
      body: '<p>Sent by <b>draft.send()</b>.</p>',
      to: [{ name: 'Tour Receiver', email: sendTo }],
    }).send()));
    await step('messages.find sent', [sent], async () => message(await nylas.messages.find(sent.id)));
    const me = account && account.email_address;
    const raw = await step('drafts.build rawMime send', [me], async () => message(await nylas.drafts.build({
      rawMime: `From: SDK Tour <${me}>\r\nTo: <${sendTo}>\r\nSubject: SDK tour raw ${stamp}\r\n` +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSent as raw MIME by the SDK.\r\n',
    }).send()));
    await step('messages.find raw sent', [raw], async () => message(await nylas.messages.find(raw.id)));

    // ---- Outbox (issue #10, Scope 7): outbox.send() schedules a draft a few seconds ahead (/v2/outbox, Bearer);
    // a second one, an hour ahead, is moved by outbox.update() and cancelled by outbox.delete(). The test checks
    // delivery (once, not before send_at) and that the cancelled one never goes.
    const outboxJob = (j) => ({
      id: j.id,
      job_status_id: j.jobStatusId,
      object: j.object,
      action: j.action,
      status: j.status,
      send_at: unix(j.sendAt),
      original_send_at: unix(j.originalSendAt),
      subject: j.originalData ? j.originalData.subject : null,
      to: j.originalData ? (j.originalData.to || []).map((p) => p.email) : [],
    });
    const soon = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5000);
    await step('outbox.send', [], async () => outboxJob(await nylas.outbox.send(nylas.drafts.build({
      subject: `SDK tour outbox ${stamp}`,
      body: '<p>Sent later by <b>outbox.send()</b>.</p>',
      to: [{ name: 'Tour Receiver', email: sendTo }],
    }), { sendAt: soon, retryLimitDatetime: new Date(soon.getTime() + 3600 * 1000) })));
    const later = await step('outbox.send later', [], async () => outboxJob(await nylas.outbox.send(nylas.drafts.build({
      subject: `SDK tour outbox cancelled ${stamp}`,
      body: '<p>Never sent.</p>',
      to: [{ name: 'Tour Receiver', email: sendTo }],
    }), { sendAt: new Date(Date.now() + 3600 * 1000) })));
    await step('outbox.update', [later], async () =>
      outboxJob(await nylas.outbox.update(later.job_status_id, { sendAt: new Date(Date.now() + 7200 * 1000) })));
    await step('outbox.delete', [later], async () => {
      await nylas.outbox.delete(later.job_status_id);
      return { job_status_id: later.job_status_id };
    });
    // ---- end of the outbox block
  }

  // ---- RSVP (issue #10, Scope 8) ----------------------------------------------------------------
  // event.rsvp(status, comment) posts {event_id, status, comment} to /send-rsvp and reads the answer back into the
  // event. The seeded invitation's organizer is NYLAS_TOUR_SEND_TO, so the REPLY is delivered where SdkTourTests reads it.
  if (sendTo) {
    const answer = (e) => ({
      id: e.id,
      ical_uid: e.iCalUID,
      participants: (e.participants || []).map((p) => ({ email: p.email, status: p.status, comment: p.comment })),
    });
    const invited = await step('rsvp: find the invitation', [], async () => (await nylas.events.list({ title: 'Design review' }))[0], answer);
    await step('event.rsvp', [invited], async () => {
      const returned = await invited.rsvp('yes', 'See you on Monday');
      return { returned: answer(returned), found: answer(await nylas.events.find(invited.id)) };
    });
  }
  // ---- end of RSVP --------------------------------------------------------------------------------

  return { sdk: { name: 'nylas', version: SDK_VERSION, node: process.version }, steps };
}

// Writes (syncback), last: every read step above has recorded the seeded mailbox as it was. The receipt is read,
// starred, moved to a new folder and back; the lunch thread is marked read; the folder is renamed and deleted.
async function writes(nylas) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const job = (j) => ({ id: j.id, object: j.object, action: j.action, status: j.status, job_status_id: j.jobStatusId });
  // Every job applied by the account's sync step (or 60 s): the next write may depend on it (a delete needs the move out).
  const settle = async () => {
    for (let i = 0; i < 120; i++) {
      const jobs = await nylas.jobStatuses.list();
      if (jobs.every((j) => j.status !== 'pending')) return jobs.map(job);
      await sleep(500);
    }
    throw new Error('job statuses still pending after 60 s');
  };
  const receipt = await step('writes: find the receipt', [], async () =>
    (await nylas.messages.list({ subject: 'Receipt #1042' }))[0], message);
  const home = receipt && receipt.folder;
  await step('message.save read and star', [receipt], async () => {
    receipt.unread = false;
    receipt.starred = true;
    return message(await receipt.save());
  });
  const created = await step('folder.save create', [], async () => {
    const f = nylas.folders.build({ displayName: 'Tour archive' });
    await f.save();
    return f;
  }, (f) => ({ ...folder(f), job_status_id: f.jobStatusId }));
  const createJob = created && created.jobStatusId; // a later save() of the folder replaces it with its own job
  await step('message.save move', [receipt, created], async () => {
    receipt.folder = created;
    return message(await receipt.save());
  });
  await step('thread.save read', [], async () => {
    const t = (await nylas.threads.list({ subject: 'Lunch on Friday' }))[0];
    t.unread = false;
    return thread(await t.save());
  });
  await step('folder.save rename', [created], async () => {
    created.displayName = 'Tour archive renamed';
    await created.save();
    return { ...folder(created), job_status_id: created.jobStatusId };
  });
  await step('jobStatuses.find', [createJob], async () => job(await nylas.jobStatuses.find(createJob)));
  await step('writes: applied', [receipt, created], settle);
  await step('writes: in the new folder', [receipt], async () => message(await nylas.messages.find(receipt.id)));
  await step('message.save move back', [receipt, home], async () => {
    receipt.folder = home;
    return message(await receipt.save());
  });
  await step('writes: moved back', [receipt, home], settle);
  await step('folders.delete', [created], async () => {
    await nylas.folders.delete(created.id);
    return (await nylas.folders.list()).map(folder);
  });
  await step('writes: deleted', [created], settle);
}

// ---- Drafts (issue #10, Scope 5 and 6) -------------------------------------------------------------------------------
// draft.save() creates (POST /drafts) and then updates (PUT /drafts/{id}, echoing every field with its version);
// drafts.delete() sends {"version": N}; a saved draft's send() posts {draft_id, version}, and only with
// NYLAS_TOUR_SEND_TO (SMTP). SdkTourTests checks each against the server's Drafts and Sent with an IMAP client.
async function drafts(nylas, sendTo) {
  const stamp = `${Date.now()}`;
  const draft = (d) => ({ ...message(d), version: d.version, reply_to_message_id: d.replyToMessageId === undefined ? null : d.replyToMessageId });
  const to = [{ name: 'Tour Receiver', email: sendTo || 'receiver@example.com' }];
  const kept = await step('draft.save create', [], async () => {
    const d = nylas.drafts.build({ subject: `SDK tour draft ${stamp}`, body: '<p>First words.</p>', to });
    await d.save();
    return d;
  }, draft);
  const createdVersion = kept && kept.version;
  await step('draft.save update', [kept], async () => {
    kept.body = '<p>Second thoughts, <b>saved</b>.</p>';
    await kept.save();
    return { ...draft(kept), created_version: createdVersion };
  });
  await step('drafts.find', [kept], async () => draft(await nylas.drafts.find(kept.id)));
  await step('drafts.list', [kept], async () => (await nylas.drafts.list()).map(draft));
  const doomed = await step('draft.save to delete', [], async () => {
    const d = nylas.drafts.build({ subject: `SDK tour draft to delete ${stamp}`, body: '<p>Not for long.</p>', to });
    await d.save();
    return d;
  }, draft);
  await step('drafts.delete', [doomed], async () => {
    await nylas.drafts.delete(doomed);
    try {
      await nylas.drafts.find(doomed.id);
      return { id: doomed.id, found_after_delete: true };
    } catch (e) {
      return { id: doomed.id, found_after_delete: false, error: describeError(e) };
    }
  });
  if (!sendTo) return;
  const sent = await step('draft.send saved', [kept], async () => message(await kept.send()));
  await step('drafts.find after send', [sent], async () => {
    try {
      await nylas.drafts.find(kept.id);
      return { id: kept.id, found_after_send: true };
    } catch (e) {
      return { id: kept.id, found_after_send: false, error: describeError(e) };
    }
  });
}
// ---- end of Drafts ----------------------------------------------------------------------------------------------------

// POST /a/{client_id}/accounts with the SDK's request path: Basic base64(client_secret:) and a
// JSON string body, which node-fetch sends as text/plain;charset=UTF-8.
async function connect() {
  configure();
  const body = JSON.parse(env('NYLAS_CONNECT_BODY'));
  const connection = new NylasConnection(null, { clientId: env('NYLAS_CLIENT_ID') });
  const account = await connection.request({ method: 'POST', path: `/a/${env('NYLAS_CLIENT_ID')}/accounts`, body });
  return account;
}

// The v2 native-auth flow through the SDK's own Connect model: POST /connect/authorize (the
// mailbox's settings, answered with a one-time code), then POST /connect/token (the code and the
// client secret, answered with the account and its access token).
async function authorize() {
  configure();
  const body = JSON.parse(env('NYLAS_CONNECT_BODY'));
  const { code } = await Nylas.connect.authorize({
    name: body.name || '',
    emailAddress: body.email_address,
    provider: body.provider || 'imap',
    settings: body.settings,
    scopes: ['email.read_only'],
  });
  const account = await Nylas.connect.token(code);
  return account.toJSON();
}

const webhook = (w) => ({
  id: w.id,
  application_id: w.applicationId,
  callback_url: w.callbackUrl,
  state: w.state,
  triggers: w.triggers,
  version: w.version,
});

// The management calls of Nylas.webhooks, in the order an app makes them.
async function webhooks() {
  configure();
  const created = await step('webhooks.build().save()', [], () =>
    Nylas.webhooks.build({ callbackUrl: env('NYLAS_WEBHOOK_CALLBACK'), state: 'active', triggers: ['message.created', 'thread.replied'] }).save(), webhook);
  await step('webhooks.list', [created], () => Nylas.webhooks.list(), (list) => list.map(webhook));
  const found = await step('webhooks.find', [created], () => Nylas.webhooks.find(created.id), webhook);
  await step('webhook.save() state inactive', [found], () => {
    found.state = 'inactive';
    return found.save();
  }, webhook);
  await step('webhooks.delete', [created], () => Nylas.webhooks.delete(created), () => true);
  await step('webhooks.list after delete', [created], () => Nylas.webhooks.list(), (list) => list.map(webhook));
  return { sdk: { name: 'nylas', version: SDK_VERSION, node: process.version }, steps };
}

// What a receiver does with a delivery: check the signature with the SDK's own function, read it with its model.
async function verify() {
  const WebhookNotification = require('nylas/lib/models/webhook-notification').default;
  const raw = require('fs').readFileSync(env('NYLAS_WEBHOOK_BODY_FILE'));
  const valid = WebhookNotification.verifyWebhookSignature(env('NYLAS_WEBHOOK_SIGNATURE'), raw, env('NYLAS_CLIENT_SECRET'));
  const tampered = Buffer.concat([raw, Buffer.from(' ')]);
  const notification = new WebhookNotification().fromJSON(JSON.parse(raw.toString('utf8')));
  return {
    valid,
    tampered_valid: WebhookNotification.verifyWebhookSignature(env('NYLAS_WEBHOOK_SIGNATURE'), tampered, env('NYLAS_CLIENT_SECRET')),
    deltas: notification.deltas.map((d) => ({
      date: unix(d.date),
      object: d.object,
      type: d.type,
      id: d.objectData.id,
      account_id: d.objectData.accountId,
      namespace_id: d.objectData.namespaceId,
      thread_id: d.objectData.objectAttributes ? d.objectData.objectAttributes.threadId : null,
      received_date: d.objectData.objectAttributes ? unix(d.objectData.objectAttributes.receivedDate) : null,
    })),
  };
}

async function main() {
  const command = process.argv[2] || 'tour';
  const setup = { connect, authorize, webhooks, verify }[command];
  if (setup) {
    try {
      process.stdout.write(JSON.stringify(await setup(), null, 2) + '\n');
    } catch (e) {
      process.stderr.write(`tour ${command}: ${JSON.stringify(describeError(e))}\n`);
      process.exit(1);
    }
    return;
  }
  if (command !== 'tour') {
    process.stderr.write(`usage: node tour.js [tour|connect|authorize|webhooks|verify]\n`);
    process.exit(2);
  }
  const document = await tour();
  process.stdout.write(JSON.stringify(document, null, 2) + '\n');
  const failed = Object.entries(document.steps).filter(([, s]) => !s.ok);
  if (failed.length) {
    process.stderr.write(`tour: ${failed.length} of ${Object.keys(document.steps).length} steps failed:\n`);
    for (const [name, s] of failed) process.stderr.write(`  ${name}: ${JSON.stringify(s.error)}\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`tour: ${e && e.stack || e}\n`);
  process.exit(1);
});
