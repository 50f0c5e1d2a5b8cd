using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MailKit;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Core.Messages;
using Nylas.Testing;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>
/// The real-world corpus and seeded damage to it (see <see cref="HostileMimeMutations"/>), saved into a Dovecot mailbox
/// and synced by the whole pipeline: the host keeps running, every message the server holds is served by the API with
/// the server's bytes, and what the parser cannot read is flagged with <c>parse_error</c>.
/// The seed is fixed in the regular run and random with --faults (<see cref="FaultSize.Seed"/>); NYLAS_TEST_FAULT_SEED=&lt;seed&gt; runs the same messages again.
/// </summary>
public class HostileMimeTests(LocalHostFixture host, ITestOutputHelper output) : IClassFixture<LocalHostFixture>
{
    /// <summary>The monsters, 40 mutations and 40 corpus messages; with <c>./dev test --faults</c>, 400 mutations and the whole corpus.</summary>
    [Fact]
    public Task The_monsters_mutations_and_corpus_messages_are_all_served_byte_for_byte()
        => FaultSize.Full ? RunAsync(mutations: 400, corpusSample: int.MaxValue) : RunAsync(mutations: 40, corpusSample: 40);

    private async Task RunAsync(int mutations, int corpusSample)
    {
        int seed = FaultSize.Seed;
        output.WriteLine($"seed {seed} (NYLAS_TEST_FAULT_SEED={seed} repeats this run)");
        var random = new Random(seed);
        string root = Environment.GetEnvironmentVariable("NYLAS_TEST_CORPUS") is { Length: > 0 } r ? r
            : throw new InvalidOperationException("NYLAS_TEST_CORPUS is not set: run the tests with `./dev test`, which sets it.");
        var corpus = CorpusMessages.Load(root).Select(m => (m.Name, m.Bytes)).ToList();
        Assert.True(corpus.Count > 200, $"the corpus at {root} has only {corpus.Count} messages");

        var messages = new List<HostileMessage>();
        // The corpus unchanged: the core tests parse all of it; here it goes through the whole pipeline.
        messages.AddRange(corpus.OrderBy(_ => random.Next()).Take(corpusSample).Select(c => new HostileMessage(c.Name, c.Bytes)));
        messages.AddRange(HostileMimeMutations.Monsters());
        messages.AddRange(new HostileMimeMutations(seed).Mutate(corpus, mutations));
        // The mirror keys content by its bytes: one copy of each, so that the server's count is the API's.
        messages = messages.DistinctBy(m => Convert.ToHexString(SHA256.HashData(m.Bytes))).ToList();

        var (email, token, _) = await host.ConnectNewAccountAsync();
        var refused = new List<string>();
        var sw = Stopwatch.StartNew();
        // Saved in order (UIDs follow the list), a few doveadm processes at a time.
        var results = new string?[messages.Count];
        await Parallel.ForAsync(0, messages.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, _) => results[i] = await SaveRawAsync(email, messages[i].Bytes));
        refused.AddRange(results.Select((e, i) => e is null ? null : $"{messages[i].Name}: {e}").OfType<string>());
        output.WriteLine($"{messages.Count} messages saved in {sw.Elapsed.TotalSeconds:F0} s; Dovecot refused {refused.Count}: {string.Join("; ", refused)}");

        var server = await ServerMessagesAsync(email);
        // The mirror keeps one message per content and links each UID to it; the server may have made two saved
        // messages identical (Dovecot turns NULs into 0x80 in what it serves).
        int distinct = server.Select(s => Convert.ToHexString(SHA256.HashData(s.Bytes))).Distinct().Count();
        output.WriteLine($"the server holds {server.Count} messages, {distinct} distinct");

        // Ingest may be slow on the monsters, but it must keep moving: stop waiting when the count has not changed for
        // 2 minutes, and say which messages are missing.
        using var http = host.Client(token);
        long served = -1, lastServed = -1;
        var lastProgress = Stopwatch.StartNew();
        sw.Restart();
        var failures = new List<string>();
        while (true)
        {
            served = await host.CountMessagesAsync(token);
            if (served >= distinct) break;
            if (served != lastServed) { lastServed = served; lastProgress.Restart(); }
            if (lastProgress.Elapsed > TimeSpan.FromMinutes(2))
            {
                failures.Add($"ingest stopped at {served} of {distinct} messages served for 2 minutes; GET /account: {await http.GetStringAsync("/account")}");
                break;
            }
            await Task.Delay(500);
        }
        output.WriteLine($"{served} served after {sw.Elapsed.TotalSeconds:F0} s");

        // Every message the API serves, by the hash of its raw bytes.
        var apiByHash = new Dictionary<string, List<JsonElement>>();
        var listed = new List<JsonElement>();
        for (int offset = 0; ; offset += 1000)
        {
            using var page = await ApiClient.GetPatientlyAsync(http, $"/messages?limit=1000&offset={offset}");
            string text = await page.Content.ReadAsStringAsync();
            Assert.True(page.StatusCode == HttpStatusCode.OK, $"seed {seed}: GET /messages: {(int)page.StatusCode} {text}");
            var items = JsonDocument.Parse(text).RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
            listed.AddRange(items);
            if (items.Count < 1000) break;
        }
        foreach (var message in listed)
        {
            string id = message.GetProperty("id").GetString()!;
            using var raw = await ApiClient.GetPatientlyAsync(http, $"/messages/{id}", "message/rfc822");
            if (raw.StatusCode != HttpStatusCode.OK) { failures.Add($"GET /messages/{id} (raw): {(int)raw.StatusCode} {await raw.Content.ReadAsStringAsync()}"); continue; }
            string hash = Convert.ToHexString(SHA256.HashData(await raw.Content.ReadAsByteArrayAsync()));
            if (!apiByHash.TryGetValue(hash, out var list)) apiByHash[hash] = list = [];
            list.Add(message);
        }

        var mapper = host.App.Services.GetRequiredService<MimeMessageMapper>();
        int flagged = 0;
        foreach (var (uid, bytes) in server)
        {
            string hash = Convert.ToHexString(SHA256.HashData(bytes));
            string name = Describe(messages, bytes);
            if (!apiByHash.TryGetValue(hash, out var served1)) { failures.Add($"UID {uid} ({name}, {bytes.Length} bytes): not served by the API with the server's bytes"); continue; }
            if (served1.Count > 1) failures.Add($"UID {uid} ({name}): served {served1.Count} times");
            bool flaggedByApi = served1[0].TryGetProperty("parse_error", out var pe) && pe.ValueKind == JsonValueKind.String;
            if (flaggedByApi) flagged++;
            // The product's parser decides what is unparseable; the API must say so for exactly those.
            bool unparseable;
            try
            {
                unparseable = mapper.Map(new MemoryStream(bytes)).ParseError is not null;
            }
            catch (Exception ex)
            {
                failures.Add($"UID {uid} ({name}): the parser throws {ex.GetType().Name}: {ex.Message}");
                continue;
            }
            if (unparseable != flaggedByApi)
                failures.Add($"UID {uid} ({name}): the parser {(unparseable ? "cannot" : "can")} read it but parse_error is {(flaggedByApi ? pe.GetString() : "absent")}");
        }
        var serverHashes = server.Select(s => Convert.ToHexString(SHA256.HashData(s.Bytes))).ToHashSet();
        foreach (var (hash, list) in apiByHash.Where(kv => !serverHashes.Contains(kv.Key)))
            failures.Add($"served but not on the server: {list.Count} message(s), subject '{list[0].GetProperty("subject")}'");

        output.WriteLine($"{flagged} served with parse_error");
        Assert.True(failures.Count == 0 && served == distinct,
            $"seed {seed}: {server.Count} on the server ({distinct} distinct), {served} counted by the API, {failures.Count} problem(s):\n" + string.Join("\n", failures.Take(50)));
    }

    /// <summary>
    /// The smallest case of what the run above found: a Subject of 200 kB came back from Dovecot as a literal inside the
    /// ENVELOPE the sync's FETCH asked for, larger than the IMAP client's 4 kB token limit, and ended every session (the
    /// sync now asks for the Message-ID header alone). It must cost that message at most, not the account (issue #11, scope 2).
    /// </summary>
    [Fact]
    public async Task A_200_kB_subject_does_not_stop_the_account()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        var monster = HostileMimeMutations.Monsters().Single(m => m.Name == "monster: a 200 kB folded Subject");
        for (int i = 0; i < 3; i++) await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, $"before {i}"));
        Assert.Null(await SaveRawAsync(email, monster.Bytes));
        for (int i = 0; i < 3; i++) await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, $"after {i}"));

        using var http = host.Client(token);
        var served = await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) >= 6, TimeSpan.FromSeconds(90));
        string account = await http.GetStringAsync("/account");
        Assert.True(served.HasValue, $"{await host.CountMessagesAsync(token)} of the 6 ordinary messages served after 90 s; GET /account: {account}");
        Assert.DoesNotContain("sync-error", account, StringComparison.Ordinal);
    }

    /// <summary>Which generated message has these bytes (Dovecot may have changed them, e.g. line ends), for the failure text.</summary>
    private static string Describe(List<HostileMessage> messages, byte[] bytes)
        => messages.FirstOrDefault(m => m.Bytes.AsSpan().SequenceEqual(bytes))?.Name ?? "bytes changed by the server";

    /// <summary>Saves raw bytes with <c>doveadm save</c> (no IMAP client would APPEND NULs or a truncated literal); null or why it was refused.</summary>
    private static async Task<string?> SaveRawAsync(string user, byte[] bytes)
    {
        var psi = new ProcessStartInfo("doveadm", ["-c", TestStack.DovecotConf, "save", "-u", user, "-m", "INBOX"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(bytes);
        process.StandardInput.Close();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? null : $"doveadm save exited {process.ExitCode}: {(await error).Trim()}";
    }

    /// <summary>Every message in the INBOX as an independent IMAP client reads it (BODY[]).</summary>
    private static async Task<List<(UniqueId Uid, byte[] Bytes)>> ServerMessagesAsync(string user)
    {
        using var client = await TestStack.ConnectImapAsync(user);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var result = new List<(UniqueId, byte[])>();
        foreach (var uid in await client.Inbox.SearchAsync(MailKit.Search.SearchQuery.All))
        {
            using var stream = await client.Inbox.GetStreamAsync(uid, "");
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            result.Add((uid, copy.ToArray()));
        }
        await client.DisconnectAsync(true);
        return result;
    }
}
