using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MailKit.Net.Imap;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.LocalHost;
using Nylas.Testing;

// The change-feed latency benchmark: see README.md next to this file.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int messages = IntArg("--messages", 200), paceMs = IntArg("--pace-ms", 300);
string otherFolder = StringArg("--folder", "Filed")!;
string? output = StringArg("--out", null);
string? csv = StringArg("--csv", null);
// Only the other folder: nothing lands in INBOX, so nothing wakes the account but the watcher's view of that folder
// (what a server without NOTIFY shows, where only INBOX is IDLEd and the rest probed).
bool otherOnly = args.Contains("--other-only");
// Extra engine settings, e.g. --set Nylas:Watch:UseNotify=false to measure the path of a server without NOTIFY.
var extra = args.Select((a, i) => (a, i)).Where(x => x.a == "--set" && x.i + 1 < args.Length).Select(x => args[x.i + 1].Split('=', 2)).ToList();
if (!BenchConsole.HasTestStack("MariaDB, Dovecot, Azurite", "NYLAS_TEST_MYSQL", "NYLAS_TEST_STORAGE", "NYLAS_TEST_IMAP_PORT")) return 2;
using var cancellation = new BenchConsole.Cancellation();
var ct = cancellation.Token;
var clock = Stopwatch.StartNew();
TimeSpan Now() => clock.Elapsed;

// --- the host under test: the local host in-process, fresh databases, engine defaults (a 240 s safety cycle, so
// only the watcher can explain freshness) ---
var databases = await TestStack.CreateDatabasesAsync();
string id = Guid.NewGuid().ToString("N")[..12];
var settings = databases.EngineSettings();
settings["Nylas:Durable:TaskHub"] = "lat" + id;
settings["Nylas:Storage:IngestQueue"] = "ingest-lat-" + id;
foreach (var kv in extra) settings[kv[0]] = kv.Length > 1 ? kv[1] : "";
// Webhooks to this process's own loopback receiver (the dev stack allows http://127.0.0.1 the same way).
settings["Nylas:Webhooks:AllowHttpLoopback"] = "true";
settings["Nylas:Webhooks:AllowedPrivateNetworks"] = "127.0.0.0/8";
settings["Nylas:Storage:WebhookQueue"] = "webhooks-lat-" + id;
var app = LocalHostApp.Build([], builder =>
{
    builder.Configuration.AddInMemoryCollection(settings);
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
});
await app.Services.PrepareStorageAsync(ct);
await app.StartAsync(ct);
var api = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
var (application, secret) = await app.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("latency benchmark", ct);

// --- the mailbox: INBOX and one other folder, connected, idle ---
string email = TestStack.NewMailbox("lat");
using (var setup = await TestStack.ConnectImapAsync(email))
{
    await setup.GetFolder(setup.PersonalNamespaces[0]).CreateAsync(otherFolder, true, ct);
    await setup.DisconnectAsync(true, ct);
}
using var appHttp = Client(secret);
var connectBody = new JsonObject
{
    ["email_address"] = email, ["name"] = "Latency", ["provider"] = "imap",
    ["settings"] = new JsonObject
    {
        ["imap_host"] = TestStack.ImapHost, ["imap_port"] = TestStack.ImapsPort, ["imap_security"] = "ssl", ["imap_username"] = email,
        ["imap_password"] = TestStack.ImapPassword, ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
    },
};
var connected = await (await appHttp.PostAsync($"/a/{application.ClientId}/accounts", new StringContent(connectBody.ToJsonString(), Encoding.UTF8, "application/json"), ct)).Content.ReadFromJsonAsync<JsonElement>(ct);
using var http = Client(connected.GetProperty("access_token").GetString()!);
await WaitAsync(async () => (await http.GetFromJsonAsync<JsonElement>("/folders", ct)).GetArrayLength() >= 2, "the folders synced");

// --- observers: the server's own wake-up (a raw client IDLEing in each folder), /delta/longpoll, a webhook receiver ---
var serverWake = new ConcurrentDictionary<string, List<TimeSpan>>();   // folder -> time its count reached n+1
var deltaAt = new ConcurrentDictionary<string, (TimeSpan At, string Id)>(); // subject -> when /delta/longpoll answered it
var webhookAt = new ConcurrentDictionary<string, TimeSpan>();           // message id -> when the webhook arrived
var idlers = new List<(ImapClient Client, Task Idle, CancellationTokenSource Stop)>();
foreach (string folderName in new[] { "INBOX", otherFolder })
{
    var client = await TestStack.ConnectImapAsync(email);
    var folder = folderName == "INBOX" ? client.Inbox : await client.GetFolderAsync(folderName, ct);
    await folder.OpenAsync(FolderAccess.ReadOnly, ct);
    var wakes = serverWake[folderName] = [];
    int seen = folder.Count;
    folder.CountChanged += (_, _) => { lock (wakes) while (seen < folder.Count) { wakes.Add(Now()); seen++; } };
    var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
    idlers.Add((client, client.IdleAsync(stop.Token, ct), stop));
}

string cursor = (await (await http.PostAsync("/delta/latest_cursor", null, ct)).Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("cursor").GetString()!;
using var pollStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
var poller = Task.Run(async () =>
{
    while (!pollStop.IsCancellationRequested)
    {
        JsonElement page;
        try { page = await http.GetFromJsonAsync<JsonElement>($"/delta/longpoll?cursor={cursor}&timeout=30&include_types=message", pollStop.Token); }
        catch (OperationCanceledException) { return; }
        var at = Now();
        foreach (var d in page.GetProperty("deltas").EnumerateArray())
            if (d.GetProperty("event").GetString() == "create")
                deltaAt.TryAdd(d.GetProperty("attributes").GetProperty("subject").GetString()!, (at, d.GetProperty("id").GetString()!));
        cursor = page.GetProperty("cursor_end").GetString()!;
    }
});

var receiver = await StartReceiverAsync();
string? webhookProblem = await SubscribeAsync(receiver.Url);
Console.WriteLine(webhookProblem is null ? $"webhook receiver at {receiver.Url}" : $"webhooks not measured: {webhookProblem}");

// --- the load: paced APPENDs by an independent client, alternating INBOX and the other folder ---
var appended = new List<(string Subject, string Folder, int IndexInFolder, TimeSpan At)>();
using (var writer = await TestStack.ConnectImapAsync(email))
{
    var folders = new Dictionary<string, IMailFolder> { ["INBOX"] = writer.Inbox, [otherFolder] = await writer.GetFolderAsync(otherFolder, ct) };
    var perFolder = new Dictionary<string, int> { ["INBOX"] = 0, [otherFolder] = 0 };
    for (int i = 0; i < messages; i++)
    {
        string folderName = i % 2 == 0 && !otherOnly ? "INBOX" : otherFolder;
        string subject = $"latency {i:D4} {id}";
        await folders[folderName].AppendAsync(TestStack.SimpleMessage(email, subject), MessageFlags.None, ct);
        appended.Add((subject, folderName, perFolder[folderName]++, Now()));
        await Task.Delay(paceMs, ct);
    }
}
await WaitAsync(() => Task.FromResult(deltaAt.Count >= messages && (webhookProblem is not null || webhookAt.Count >= messages)), "every message in the feed", TimeSpan.FromSeconds(90), throwOnTimeout: false);

// --- report ---
var md = new StringBuilder();
md.AppendLine($"## Change-feed latency, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
md.AppendLine();
md.AppendLine($"{messages} messages APPENDed by an independent IMAP client every {paceMs} ms, {(otherOnly ? $"all into `{otherFolder}`" : $"alternating INBOX and `{otherFolder}`")}; " +
    $"times from APPEND's OK. Server wake = a raw MailKit client IDLEing in that folder (Dovecot's own notification delay); " +
    $"our share = /delta/longpoll answer minus that wake, per message. Settings: {(extra.Count == 0 ? "engine defaults" : string.Join(", ", extra.Select(e => string.Join('=', e))))}.");
md.AppendLine();
md.AppendLine("| folder | seen (delta / webhook) | server wake p50 / p99 | /delta/longpoll p50 / p99 / max | webhook p50 / p99 / max | our share p50 / p99 |");
md.AppendLine("|---|---:|---:|---:|---:|---:|");
foreach (var group in appended.GroupBy(a => a.Folder))
{
    var wake = new List<double>(); var delta = new List<double>(); var hook = new List<double>(); var ours = new List<double>();
    var wakes = serverWake[group.Key];
    foreach (var a in group)
    {
        double? w = null;
        lock (wakes) if (a.IndexInFolder < wakes.Count) w = (wakes[a.IndexInFolder] - a.At).TotalMilliseconds;
        if (w is { } wv) wake.Add(wv);
        if (deltaAt.TryGetValue(a.Subject, out var d))
        {
            delta.Add((d.At - a.At).TotalMilliseconds);
            if (w is { } wd) ours.Add((d.At - a.At).TotalMilliseconds - wd);
            if (webhookAt.TryGetValue(d.Id, out var h)) hook.Add((h - a.At).TotalMilliseconds);
        }
    }
    md.AppendLine($"| {group.Key} | {delta.Count}/{group.Count()} / {hook.Count}/{group.Count()} | {P(wake, 50)} / {P(wake, 99)} | " +
        $"{P(delta, 50)} / {P(delta, 99)} / {P(delta, 100)} | {P(hook, 50)} / {P(hook, 99)} / {P(hook, 100)} | {P(ours, 50)} / {P(ours, 99)} |");
}
if (webhookProblem is not null) md.AppendLine().AppendLine($"Webhooks not measured: {webhookProblem}");
if (csv is not null)
{
    // One line per message, times in ms from the start of the run: where the slow ones sit in time.
    var lines = new List<string> { "subject,folder,appended_ms,server_wake_ms,delta_ms,webhook_ms" };
    foreach (var a in appended)
    {
        var wakes = serverWake[a.Folder];
        string wake; lock (wakes) wake = a.IndexInFolder < wakes.Count ? $"{(wakes[a.IndexInFolder] - a.At).TotalMilliseconds:F0}" : "";
        string delta = deltaAt.TryGetValue(a.Subject, out var d) ? $"{(d.At - a.At).TotalMilliseconds:F0}" : "";
        string hook = deltaAt.TryGetValue(a.Subject, out var d2) && webhookAt.TryGetValue(d2.Id, out var h) ? $"{(h - a.At).TotalMilliseconds:F0}" : "";
        lines.Add($"{a.Subject},{a.Folder},{a.At.TotalMilliseconds:F0},{wake},{delta},{hook}");
    }
    await File.WriteAllLinesAsync(csv, lines, ct);
}
Console.WriteLine(md.ToString());
if (output is not null) await File.WriteAllTextAsync(output, md.ToString(), ct);

// --- clean up ---
await pollStop.CancelAsync();
foreach (var (client, idle, stop) in idlers)
{
    await stop.CancelAsync();
    try { await idle; } catch (OperationCanceledException) { }
    client.Dispose();
}
await receiver.App.StopAsync(CancellationToken.None);
await app.StopAsync(CancellationToken.None);
await app.DisposeAsync();
return 0;

static string P(List<double> values, int percentile)
{
    if (values.Count == 0) return "–";
    var sorted = values.Order().ToList();
    int index = Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1);
    return $"{sorted[index]:F0} ms";
}

HttpClient Client(string user)
{
    var client = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };
    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":")));
    return client;
}

async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, bool throwOnTimeout = true)
{
    if (await TestStack.WaitUntilAsync(condition, timeout ?? TimeSpan.FromSeconds(60)) is null)
    {
        if (throwOnTimeout) throw new TimeoutException($"timed out waiting for {what}");
        Console.Error.WriteLine($"warning: timed out waiting for {what}");
    }
}

async Task<(WebApplication App, string Url)> StartReceiverAsync()
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.ClearProviders();
    var receiverApp = builder.Build();
    receiverApp.MapGet("/hook", (HttpRequest r) => Results.Text(r.Query["challenge"].ToString()));
    receiverApp.MapPost("/hook", async (HttpRequest r) =>
    {
        var at = Now();
        var body = await JsonDocument.ParseAsync(r.Body);
        foreach (var d in body.RootElement.GetProperty("deltas").EnumerateArray())
            if (d.GetProperty("type").GetString() == "message.created")
                webhookAt.TryAdd(d.GetProperty("object_data").GetProperty("id").GetString()!, at);
        return Results.Ok();
    });
    await receiverApp.StartAsync(ct);
    string url = receiverApp.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";
    return (receiverApp, url);
}

async Task<string?> SubscribeAsync(string url)
{
    var body = new JsonObject { ["callback_url"] = url, ["triggers"] = new JsonArray("message.created"), ["state"] = "active" };
    using var response = await appHttp.PostAsync($"/a/{application.ClientId}/webhooks", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), ct);
    return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
}

int IntArg(string name, int fallback) => StringArg(name, null) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
string? StringArg(string name, string? fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
