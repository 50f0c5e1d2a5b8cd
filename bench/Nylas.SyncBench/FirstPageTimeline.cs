using System.Collections.Concurrent;
using System.Diagnostics;

namespace Nylas.SyncBench;

/// <summary>
/// Where the time to the first 100 messages goes: every span (Activity) of this process from the connect request until
/// the first page is seen, on one clock with the POST. The engine's, MailKit's, DurableTask's and ASP.NET Core's spans are
/// listed one by one; storage HTTP requests and MySQL commands, too many to list, are counted per span they ran in.
/// </summary>
public sealed class FirstPageTimeline : IDisposable
{
    public sealed record Span(TimeSpan Start, TimeSpan Duration, string Source, string Name, string? Detail);

    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Span> _spans = new();
    private readonly ConcurrentQueue<(TimeSpan Start, TimeSpan Duration, string What)> _requests = new();
    private Stopwatch _clock = new();
    private volatile bool _recording;

    public FirstPageTimeline()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => _recording ? ActivitySamplingResult.AllData : ActivitySamplingResult.None,
            ActivityStarted = OnStarted,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Starts the clock (the POST's t0) and the recording.</summary>
    public void Start()
    {
        _clock = Stopwatch.StartNew();
        _recording = true;
    }

    public void Stop() => _recording = false;

    public TimeSpan Now => _clock.Elapsed;

    // The engine's and DurableTask's spans still open when the first page is seen (a sync step runs on), listed as such.
    private readonly ConcurrentDictionary<Activity, TimeSpan> _open = new();

    private void OnStarted(Activity activity)
    {
        if (activity.Source.Name is "Nylas.Engine" or "DurableTask.Core" or "Microsoft.DurableTask" || activity.Source.Name.StartsWith("DurableTask", StringComparison.Ordinal))
            _open[activity] = _clock.Elapsed;
    }

    private void OnStopped(Activity activity)
    {
        _open.TryRemove(activity, out _);
        // Activity times are wall-clock; the clock's start is taken from them backwards.
        var start = _clock.Elapsed - (DateTime.UtcNow - activity.StartTimeUtc);
        switch (activity.Source.Name)
        {
            case "System.Net.Http":
                _requests.Enqueue((start, activity.Duration, "http " + activity.GetTagItem("http.request.method") + " :" + activity.GetTagItem("server.port")));
                return;
            case "MySqlConnector":
                _requests.Enqueue((start, activity.Duration, "mysql"));
                return;
            case "Azure.Core.Http":
                return;
        }
        // Connection set-up spans and the queue pumps' and the sampler's polls: noise here.
        if (activity.Source.Name.StartsWith("Experimental.", StringComparison.Ordinal)
            || activity.OperationName is "QueueClient.ReceiveMessages" or "QueueClient.GetProperties") return;
        string? detail = activity.Source.Name == "Microsoft.AspNetCore" ? activity.GetTagItem("url.path") as string ?? activity.DisplayName : null;
        if (detail is not null && detail.Contains("view=count", StringComparison.Ordinal)) return;
        _spans.Enqueue(new Span(start, activity.Duration, activity.Source.Name, activity.OperationName, detail ?? Tags(activity)));
    }

    private static string? Tags(Activity activity)
    {
        var tags = activity.TagObjects.Where(t => t.Key.StartsWith("nylas.", StringComparison.Ordinal) || t.Key == "messaging.batch.message_count")
            .Select(t => $"{t.Key}={t.Value}").ToList();
        return tags.Count == 0 ? null : string.Join(' ', tags);
    }

    /// <summary>The spans that started before <paramref name="until"/>, in start order, each with the storage/MySQL requests that ran inside it.</summary>
    public IReadOnlyList<string> Lines(TimeSpan until)
    {
        var requests = _requests.ToArray();
        var lines = new List<string>();
        // Single requests that took long enough to matter are listed too.
        var slow = requests.Where(r => r.Start <= until && r.Duration >= TimeSpan.FromMilliseconds(SlowRequestMs))
            .Select(r => new Span(r.Start, r.Duration, "request", r.What, null));
        var open = _open.Where(kv => kv.Value <= until)
            .Select(kv => new Span(kv.Value, TimeSpan.Zero, kv.Key.Source.Name, kv.Key.OperationName, "(still running)"));
        foreach (var span in _spans.Where(s => s.Start <= until).Concat(slow).Concat(open).OrderBy(s => s.Start))
        {
            var end = span.Start + span.Duration;
            var inside = requests.Where(r => r.Start >= span.Start && r.Start + r.Duration <= end)
                .GroupBy(r => r.What).Select(g => $"{g.Key} ×{g.Count()}");
            string name = span.Source switch
            {
                "Microsoft.AspNetCore" => "api",
                _ => span.Source.Replace("Microsoft.", "", StringComparison.Ordinal),
            };
            lines.Add($"{span.Start.TotalMilliseconds,8:F0} ms +{span.Duration.TotalMilliseconds,6:F0} ms  {name} {span.Name}{(span.Detail is null ? "" : " " + span.Detail)}"
                      + (span.Source != "request" && span.Duration > TimeSpan.FromMilliseconds(5) ? "  [" + string.Join(", ", inside) + "]" : ""));
        }
        return lines;
    }

    private const int SlowRequestMs = 25;

    public void Dispose() => _listener.Dispose();
}
