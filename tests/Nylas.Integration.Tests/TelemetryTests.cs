using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using MailKit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nylas.Engine.MailSessions;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;
using Nylas.Engine.Telemetry;
using Nylas.LocalHost;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>Prometheus text format, read as a scraper does: (name, labels) → value.</summary>
internal sealed partial record PrometheusScrape(IReadOnlyList<(string Name, Dictionary<string, string> Labels, double Value)> Samples)
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(?:[^"\\]|\\.)*)" """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex Label();

    public static PrometheusScrape Parse(string text)
    {
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith('#') || SampleLine().Match(line) is not { Success: true } m) continue;
            var labels = Label().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups["key"].Value, l => l.Groups["value"].Value);
            samples.Add((m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return new PrometheusScrape(samples);
    }

    public bool Has(string name) => Samples.Any(s => s.Name == name);

    /// <summary>The sum over every series of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels)
        => Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);
}

/// <summary>GET /metrics on the local host after a real sync: the engine's metrics and ASP.NET Core's, loopback only.</summary>
public sealed class MetricsEndpointTests(LocalHostFixture host) : IClassFixture<LocalHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task After_a_sync_the_metrics_show_the_account_s_messages_IMAP_commands_and_API_requests()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        const int appended = 4;
        await TestStack.AppendManyAsync(email, Enumerable.Range(0, appended).Select(i => TestStack.SimpleMessage(email, $"metered {i}")));
        Assert.True((await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == appended, Timeout)).HasValue,
            "the mailbox did not sync");
        long accountId = (await host.App.Services.GetRequiredService<AccountStore>().FindByAccessTokenAsync(token))!.Id;
        var account = ("nylas_account_id", accountId.ToString(CultureInfo.InvariantCulture));

        using var http = host.Client();
        PrometheusScrape scrape = new([]);
        // Steps and batches record when they end, which may be a moment after the messages are visible.
        var seen = await TestStack.WaitUntilAsync(async () =>
        {
            using var response = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            scrape = PrometheusScrape.Parse(await response.Content.ReadAsStringAsync());
            return scrape.Sum("nylas_sync_fetched_messages_total", account) >= appended
                && scrape.Sum("nylas_ingest_stored_messages_total", account) >= appended
                && scrape.Sum("nylas_sync_step_duration_seconds_count", ("nylas_outcome", "done")) >= 1
                && scrape.Sum("nylas_imap_commands_total", account) > 0
                && scrape.Sum("http_server_request_duration_seconds_count", ("http_route", "/messages")) >= 1;
        }, Timeout);
        Assert.True(seen.HasValue, "the engine's metrics did not reach the expected values:\n" +
            string.Join('\n', scrape.Samples.Where(s => s.Name.StartsWith("nylas_") || s.Name.StartsWith("http_server_request_duration_seconds_count"))
                .Select(s => $"{s.Name} {JsonSerializer.Serialize(s.Labels)} {s.Value}")));

        // Each of these small messages has more than 100 bytes of headers alone.
        Assert.True(scrape.Sum("nylas_sync_fetched_size_bytes_total", account) >= appended * 100);
        Assert.True(scrape.Sum("nylas_sync_active_time_seconds_total", account) > 0);
        Assert.True(scrape.Sum("nylas_ingest_latency_seconds_count") >= 1, "no ingest latency was recorded (the pump passes the insertion time)");
        Assert.True(scrape.Sum("nylas_ingest_failures_total", account) == 0, "a clean mailbox had ingest failures");
        // Histograms and gauges stay free of per-account series.
        Assert.DoesNotContain(scrape.Samples, s => s.Name.StartsWith("nylas_sync_step_duration") && s.Labels.ContainsKey("nylas_account_id"));
        // The gauges read this host's own (real) queues: nothing ever failed for good here.
        Assert.True(scrape.Has("nylas_ingest_queue_depth"), "no ingest queue depth gauge");
        Assert.True(scrape.Has("nylas_ingest_poison_depth"), "no poison queue gauge");
        Assert.Equal(0, scrape.Sum("nylas_ingest_poison_depth"));
    }

    [Fact]
    public async Task The_metrics_are_served_to_a_loopback_caller_without_credentials()
    {
        using var http = host.Client();
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE nylas_ingest_queue_depth gauge", text);
    }

    [Fact]
    public async Task A_sync_step_its_IMAP_connect_and_the_ingest_batch_with_its_parts_are_traced_with_the_account()
    {
        var stopped = new System.Collections.Concurrent.ConcurrentBag<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == EngineTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendManyAsync(email, Enumerable.Range(0, 2).Select(i => TestStack.SimpleMessage(email, $"traced {i}")));
        Assert.True((await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, Timeout)).HasValue, "the mailbox did not sync");
        long accountId = (await host.App.Services.GetRequiredService<AccountStore>().FindByAccessTokenAsync(token))!.Id;
        bool Ours(System.Diagnostics.Activity a) => a.GetTagItem(EngineTelemetry.AccountId) is long id && id == accountId;

        // The span of the step that fetched the two messages (others of this account fetched nothing).
        System.Diagnostics.Activity? step = null;
        Assert.True((await TestStack.WaitUntilAsync(() => Task.FromResult((step = stopped.FirstOrDefault(a => a.OperationName == "sync.step" && Ours(a)
            && a.GetTagItem("nylas.sync.fetched") is 2)) is not null), Timeout)).HasValue, "no sync.step span fetched the two messages");
        Assert.Equal("done", step!.GetTagItem(EngineTelemetry.Outcome));
        Assert.True(step.GetTagItem("nylas.sync.folders") is int folders && folders >= 1);
        Assert.True(step.GetTagItem("nylas.imap.commands") is long commands && commands > 0);
        var connect = Assert.Single(stopped, a => a.OperationName == "imap.connect" && a.ParentSpanId == step.SpanId);
        Assert.Equal(TestStack.ImapHost, connect.GetTagItem("server.address"));

        Assert.True((await TestStack.WaitUntilAsync(() => Task.FromResult(stopped.Where(a => a.OperationName == "ingest.batch" && Ours(a))
            .Sum(a => a.GetTagItem("nylas.ingest.stored") as int? ?? 0) >= 2), Timeout)).HasValue, "no ingest.batch span stored the two messages");
        // A batch that stored messages shows its three parts under it (children stop before their parent).
        var batch = stopped.First(a => a.OperationName == "ingest.batch" && Ours(a) && a.GetTagItem("nylas.ingest.stored") is > 0);
        foreach (string part in new[] { "ingest.prepare", "ingest.put_files", "ingest.write" })
            Assert.Single(stopped, a => a.OperationName == part && a.ParentSpanId == batch.SpanId);
    }

    /// <summary>The mapped endpoint's own pipeline (refusal, then the exporter) run for a request as Kestrel would pass it in.</summary>
    private async Task<(int Status, string ContentType, string Body)> CallEndpointAsync(string remoteAddress)
    {
        var endpoint = host.App.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>().Single(e => e.RoutePattern.RawText == MetricsEndpoint.Path);
        using var scope = host.App.Services.CreateScope();
        var http = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        http.Request.Method = "GET";
        http.Request.Path = MetricsEndpoint.Path;
        http.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddress);
        var body = new MemoryStream();
        http.Response.Body = body;
        await endpoint.RequestDelegate!(http);
        return (http.Response.StatusCode, http.Response.ContentType ?? "", System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task A_caller_from_another_address_gets_a_JSON_403_and_no_metrics()
    {
        var (status, contentType, body) = await CallEndpointAsync("203.0.113.7");
        Assert.Equal(StatusCodes.Status403Forbidden, status);
        Assert.StartsWith("application/json", contentType);
        var error = JsonDocument.Parse(body).RootElement;
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("loopback", error.GetProperty("message").GetString());
        Assert.DoesNotContain("nylas_", body);

        // The same pipeline serves a loopback caller: the refusal is the address, not the way it was called.
        var loopback = await CallEndpointAsync("127.0.0.1");
        Assert.Equal(StatusCodes.Status200OK, loopback.Status);
        Assert.Contains("nylas_ingest_queue_depth", loopback.Body);
    }

    [Fact]
    public async Task IMAP_commands_are_counted_once_each_and_IDLE_s_DONE_is_not_a_command()
    {
        string email = TestStack.NewMailbox();
        var server = new ImapServer(TestStack.ImapHost, TestStack.ImapsPort, ImapSecurity.Ssl, email, TestStack.TlsCertSha256());
        using var client = await host.App.Services.GetRequiredService<ImapConnector>().ConnectAsync(server, new AccountSecrets(TestStack.ImapPassword), secretsChanged: null, CancellationToken.None);
        var counter = Assert.IsAssignableFrom<IImapCommandCounter>(client.ProtocolLogger);
        long before = counter.CommandsSent;
        Assert.True(before >= 1, "the login was not counted");

        await client.NoOpAsync();
        Assert.Equal(before + 1, counter.CommandsSent);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.Equal(before + 2, counter.CommandsSent);
        using (var done = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            await client.IdleAsync(done.Token);
        Assert.Equal(before + 3, counter.CommandsSent);
        await client.Inbox.SearchAsync(MailKit.Search.SearchQuery.All);
        Assert.Equal(before + 4, counter.CommandsSent);
        await client.DisconnectAsync(quit: true);
    }
}

/// <summary>A local host with Nylas:Telemetry:MetricsToken set: /metrics needs the bearer token, from loopback too.</summary>
public sealed class MetricsTokenHostFixture : LocalHostFixture
{
    public string Token { get; } = Guid.NewGuid().ToString("N");

    protected override void Configure(Dictionary<string, string?> settings) => settings["Nylas:Telemetry:MetricsToken"] = Token;
}

public sealed class MetricsTokenTests(MetricsTokenHostFixture host) : IClassFixture<MetricsTokenHostFixture>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong")]
    [InlineData("Basic c2VjcmV0Og==")]
    public async Task Without_the_token_the_answer_is_a_JSON_401(string? authorization)
    {
        using var http = host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("invalid_request_error", body.GetProperty("type").GetString());
        Assert.Contains("MetricsToken", body.GetProperty("message").GetString());
        Assert.DoesNotContain(host.Token, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task With_the_token_the_metrics_are_served()
    {
        using var http = host.Client();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.Token);
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("nylas_ingest_queue_depth", await response.Content.ReadAsStringAsync());
    }
}

/// <summary>Who may read /metrics, decided on the caller's address and token (a non-loopback caller cannot be made from this machine's tests).</summary>
public sealed class MetricsAccessTests
{
    private static HttpContext Caller(string address, string? authorization = null)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(address);
        if (authorization is not null) http.Request.Headers.Authorization = authorization;
        return http;
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.0.0.2", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)] // an IPv4 caller of a dual-mode socket
    [InlineData("10.0.0.5", false)]
    [InlineData("203.0.113.7", false)]
    [InlineData("2001:db8::1", false)]
    public void Without_a_token_only_loopback_callers_are_served(string address, bool allowed)
        => Assert.Equal(allowed, MetricsEndpoint.IsAllowed(Caller(address), metricsToken: ""));

    [Theory]
    [InlineData("203.0.113.7", "Bearer s3cret", true)]
    [InlineData("203.0.113.7", "bearer  s3cret ", true)]
    [InlineData("127.0.0.1", null, false)]
    [InlineData("127.0.0.1", "Bearer s3cre", false)]
    [InlineData("203.0.113.7", "Basic czNjcmV0Og==", false)]
    public void With_a_token_every_caller_needs_it(string address, string? authorization, bool allowed)
        => Assert.Equal(allowed, MetricsEndpoint.IsAllowed(Caller(address, authorization), metricsToken: "s3cret"));
}

/// <summary>The instruments record what they should, seen through a MeterListener on this one meter (other hosts in the process have their own).</summary>
public sealed class EngineMetricsTests : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measured = [];

    public EngineMetricsTests() : this(perAccountTags: true) { }

    private EngineMetricsTests(bool perAccountTags)
    {
        var options = new NylasOptions();
        options.Telemetry.PerAccountTags = perAccountTags;
        _services = new ServiceCollection().AddMetrics().AddSingleton(Options.Create(options)).AddSingleton<EngineMetrics>().BuildServiceProvider();
        Metrics = _services.GetRequiredService<EngineMetrics>();
        _listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter == Metrics.Meter) l.EnableMeasurementEvents(instrument); };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    private EngineMetrics Metrics { get; }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measured) _measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
    }

    private List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measured(string instrument)
    {
        lock (_measured) return _measured.Where(m => m.Instrument == instrument).ToList();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    [Fact]
    public void A_sync_step_records_its_duration_by_outcome_and_the_account_s_active_time_and_fetches()
    {
        using (var step = Metrics.StartSyncStep(42))
        {
            Metrics.RecordFetched(42, messages: 3, bytes: 4096);
            Metrics.RecordFetched(42, messages: 0, bytes: 0);
            step.Outcome = "done";
        }
        var duration = Assert.Single(Measured("nylas.sync.step.duration"));
        Assert.Equal("done", duration.Tags["nylas.outcome"]);
        Assert.False(duration.Tags.ContainsKey("nylas.account.id"));
        var active = Assert.Single(Measured("nylas.sync.active_time"));
        Assert.Equal(42L, active.Tags["nylas.account.id"]);
        Assert.Equal(duration.Value, active.Value);
        var fetched = Assert.Single(Measured("nylas.sync.fetched.messages"));
        Assert.Equal((3.0, 42L), (fetched.Value, fetched.Tags["nylas.account.id"]));
        Assert.Equal(4096, Assert.Single(Measured("nylas.sync.fetched.size")).Value);
    }

    [Fact]
    public void A_step_that_throws_counts_as_an_error()
    {
        void FailingStep()
        {
            using var step = Metrics.StartSyncStep(7);
            throw new InvalidOperationException("IMAP went away");
        }
        Assert.Throws<InvalidOperationException>(FailingStep);
        Assert.Equal("error", Assert.Single(Measured("nylas.sync.step.duration")).Tags["nylas.outcome"]);
        Assert.Single(Measured("nylas.sync.active_time"));
    }

    [Fact]
    public void The_watcher_counts_wakes_by_cause_without_the_account_and_its_watched_accounts()
    {
        Metrics.RecordWake("probe");
        Metrics.RecordWatched(+2);
        Metrics.RecordWatched(-1);
        var wake = Assert.Single(Measured("nylas.watch.wakes"));
        Assert.Equal("probe", wake.Tags["nylas.watch.cause"]);
        Assert.False(wake.Tags.ContainsKey("nylas.account.id"));
        Assert.Equal(1, Measured("nylas.watch.accounts").Sum(m => m.Value));
    }

    [Fact]
    public void An_ingest_batch_records_stored_failures_by_error_type_and_its_latency_from_the_queue()
    {
        var queuedAt = new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
        using (var batch = Metrics.StartIngestBatch(9, messages: 3, queuedAt))
        {
            batch.Stored(2);
            batch.Failed(1, new IOException("blob gone"));
            batch.Complete(queuedAt.AddSeconds(12.5));
        }
        Assert.Equal(2, Assert.Single(Measured("nylas.ingest.stored.messages")).Value);
        var failure = Assert.Single(Measured("nylas.ingest.failures"));
        Assert.Equal(("IOException", 9L), (failure.Tags["error.type"], failure.Tags["nylas.account.id"]));
        Assert.Equal(12.5, Assert.Single(Measured("nylas.ingest.latency")).Value);
        Assert.Equal("ok", Assert.Single(Measured("nylas.ingest.batch.duration")).Tags["nylas.outcome"]);
    }

    [Fact]
    public void An_ingest_batch_that_does_not_complete_has_no_latency_and_counts_as_an_error()
    {
        using (Metrics.StartIngestBatch(9, messages: 1, queuedAt: DateTimeOffset.UtcNow)) { }
        Assert.Empty(Measured("nylas.ingest.latency"));
        Assert.Equal("error", Assert.Single(Measured("nylas.ingest.batch.duration")).Tags["nylas.outcome"]);
    }

    [Fact]
    public void Without_per_account_tags_the_counters_carry_no_account()
    {
        using var other = new EngineMetricsTests(perAccountTags: false);
        other.Metrics.RecordFetched(42, messages: 1, bytes: 10);
        using (var step = other.Metrics.StartSyncStep(42)) step.Outcome = "done";
        Assert.All(other.Measured("nylas.sync.fetched.messages").Concat(other.Measured("nylas.sync.active_time")),
            m => Assert.False(m.Tags.ContainsKey("nylas.account.id")));
        Assert.Empty(Measured("nylas.sync.fetched.messages")); // and this test's own meter saw nothing of it
    }
}

/// <summary>The queue gauges read the transport at most once per Nylas:Telemetry:QueueProbeSeconds, and never block a collection after the first reading.</summary>
public sealed class IngestQueueGaugesTests
{
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed class CountingProbe : IIngestQueueProbe
    {
        public int Calls;
        public Task<IngestQueueSnapshot?> ProbeAsync(CancellationToken cancellationToken)
            => Task.FromResult<IngestQueueSnapshot?>(new IngestQueueSnapshot(Interlocked.Increment(ref Calls) * 10, TimeSpan.FromSeconds(3), 1));
    }

    [Fact]
    public async Task A_reading_is_reused_until_it_is_stale_then_refreshed_in_the_background()
    {
        var options = new NylasOptions();
        options.Telemetry.QueueProbeSeconds = 15;
        using var services = new ServiceCollection().AddMetrics().AddSingleton(Options.Create(options)).AddSingleton<EngineMetrics>().BuildServiceProvider();
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
        var probe = new CountingProbe();
        var gauges = new IngestQueueGauges(services.GetRequiredService<EngineMetrics>(), probe, Options.Create(options), clock, NullLogger<IngestQueueGauges>.Instance);

        Assert.Equal(10, gauges.Current()!.Depth); // the first reading is waited for
        clock.Now += TimeSpan.FromSeconds(14);
        Assert.Equal(10, gauges.Current()!.Depth);
        Assert.Equal(1, probe.Calls);

        clock.Now += TimeSpan.FromSeconds(2);
        Assert.NotNull(gauges.Current()); // stale: answered at once, refreshed behind it
        Assert.True((await TestStack.WaitUntilAsync(() => Task.FromResult(gauges.Current()!.Depth == 20), TimeSpan.FromSeconds(10))).HasValue);
        Assert.Equal(2, probe.Calls);
    }
}

/// <summary>The periodic log line: the engine's work since the last line, and silence while there was none.</summary>
public sealed class TelemetrySummaryLoggerTests
{
    private sealed class CapturingLogger<T> : ILogger<T>
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
        public int Count { get { lock (Lines) return Lines.Count; } }
    }

    [Fact]
    public async Task A_line_sums_up_what_was_fetched_and_ingested_and_nothing_is_logged_for_an_idle_engine()
    {
        var options = new NylasOptions();
        options.Telemetry.LogSummarySeconds = 1;
        using var services = new ServiceCollection().AddMetrics().AddSingleton(Options.Create(options)).AddSingleton<EngineMetrics>().BuildServiceProvider();
        var metrics = services.GetRequiredService<EngineMetrics>();
        var logger = new CapturingLogger<TelemetrySummaryLogger>();
        using var summary = new TelemetrySummaryLogger(metrics, Options.Create(options), logger);
        await summary.StartAsync(CancellationToken.None);
        try
        {
            // An idle engine logs nothing.
            await Task.Delay(1500);
            Assert.Equal(0, logger.Count);
            metrics.RecordFetched(5, messages: 3, bytes: 2 * 1024 * 1024);
            using (var batch = metrics.StartIngestBatch(5, messages: 3, queuedAt: null)) { batch.Stored(3); batch.Complete(DateTimeOffset.UtcNow); }
            Assert.True((await TestStack.WaitUntilAsync(() => Task.FromResult(logger.Count > 0), TimeSpan.FromSeconds(10))).HasValue, "no summary line");
            string line;
            lock (logger.Lines) line = Assert.Single(logger.Lines);
            Assert.Contains("fetched 3 message(s) (2.0 MiB), ingested 3, ingest failures 0", line);
            await Task.Delay(2500);
            Assert.Equal(1, logger.Count);
        }
        finally
        {
            await summary.StopAsync(CancellationToken.None);
        }
    }
}
