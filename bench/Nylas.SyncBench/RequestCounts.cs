using System.Collections.Concurrent;
using System.Diagnostics;

namespace Nylas.SyncBench;

/// <summary>
/// Counts, in this process, every storage request (Blob, Queue and Table, the durable backend's included) and every
/// MySQL command the local host makes while it runs: the figures the Azure cost model multiplies by list prices. Read
/// from HttpClient's activities (every HTTP request to Azurite's ports, whoever made it: the engine or DurableTask), the
/// engine's storage clients' own (Azure SDK: which blob operation) and MySqlConnector's; requests made while serving an
/// API call (the benchmark's polling) are counted apart.
/// </summary>
public sealed class RequestCounts : IDisposable
{
    // Azure.Core starts an activity per HTTP attempt only when this switch is on; it must be set before any client exists.
    public static void EnableAzureActivities() => AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);

    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<string, long> _counts = new();
    private readonly Dictionary<int, string> _servicesByPort;
    private volatile bool _counting;

    private RequestCounts(Dictionary<int, string> servicesByPort)
    {
        _servicesByPort = servicesByPort;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => Detail || source.Name is "System.Net.Http" or "Azure.Core.Http" or "MySqlConnector" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <param name="storageConnectionString">Azurite's connection string: its endpoints' ports name the three services.</param>
    public static RequestCounts Create(string? storageConnectionString)
    {
        var ports = new Dictionary<int, string>();
        foreach (string part in (storageConnectionString ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length == 2 && kv[0].EndsWith("Endpoint", StringComparison.Ordinal) && Uri.TryCreate(kv[1], UriKind.Absolute, out var uri))
                ports[uri.Port] = kv[0].Replace("Endpoint", "", StringComparison.Ordinal).ToLowerInvariant();
        }
        return new RequestCounts(ports);
    }

    public void Start() => _counting = true;

    public IReadOnlyDictionary<string, long> Stop()
    {
        _counting = false;
        return new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);
    }

    private void OnStopped(Activity activity)
    {
        if (!_counting) return;
        string? key = activity.Source.Name switch
        {
            "System.Net.Http" => StorageHttpKey(activity),
            "Azure.Core.Http" => "sdk: " + StorageKey(activity),
            "MySqlConnector" => "mysql " + activity.OperationName + (Detail ? " " + Statement(activity) : ""),
            _ => Detail ? "source " + activity.Source.Name + " " + activity.OperationName : null,
        };
        if (key is null) return;
        if (UnderApiRequest(activity)) key = "api: " + key;
        _counts.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    /// <summary>NYLAS_BENCH_REQUEST_DETAIL=1: MySQL commands by their statement's first words, and every other activity source.</summary>
    private static readonly bool Detail = Environment.GetEnvironmentVariable("NYLAS_BENCH_REQUEST_DETAIL") == "1";

    private static string Statement(Activity activity)
    {
        string text = (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) as string ?? "";
        text = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return text.Length > 70 ? text[..70] : text;
    }

    private static string Method(Activity activity)
        => activity.GetTagItem("http.request.method") as string ?? activity.GetTagItem("http.method") as string ?? "?";

    /// <summary>"storage blob GET" for a request to one of Azurite's ports; null for any other HTTP request.</summary>
    private string? StorageHttpKey(Activity activity)
    {
        string method = Method(activity);
        int? port = activity.GetTagItem("server.port") switch { int p => p, long p => (int)p, string p when int.TryParse(p, out int v) => v, _ => null };
        if (port is null && (activity.GetTagItem("url.full") ?? activity.GetTagItem("http.url")) is string url && Uri.TryCreate(url, UriKind.Absolute, out var uri)) port = uri.Port;
        return port is int known && _servicesByPort.TryGetValue(known, out var service) ? $"storage {service} {method}" : null;
    }

    private string StorageKey(Activity activity)
    {
        string method = Method(activity);
        string? url = activity.GetTagItem("url.full") as string ?? activity.GetTagItem("http.url") as string;
        string service = "storage";
        if (url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            service = _servicesByPort.TryGetValue(uri.Port, out var s) ? s : uri.Host.Split('.').Skip(1).FirstOrDefault() ?? "storage";
            // Blob metadata writes (the content-addressed stores' "touch") are PUTs too: tell them apart by their query.
            if (uri.Query.Contains("comp=metadata", StringComparison.Ordinal)) method += " metadata";
            else if (uri.Query.Contains("comp=block", StringComparison.Ordinal)) method += " block";
        }
        return $"{service} {method}";
    }

    /// <summary>
    /// Made while an API request was being served. A background loop started during a request (the durable dispatcher
    /// starts on the first connect) keeps that request as its parent after it ended: those count as the host's own.
    /// </summary>
    private static bool UnderApiRequest(Activity activity)
    {
        for (var a = activity.Parent; a is not null; a = a.Parent)
            if (a.Source.Name == "Microsoft.AspNetCore") return a.Duration == TimeSpan.Zero;
        return false;
    }

    public void Dispose() => _listener.Dispose();
}
