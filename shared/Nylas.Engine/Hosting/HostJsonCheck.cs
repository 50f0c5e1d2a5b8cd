using System.Text.Json;

namespace Nylas.Engine.Hosting;

/// <summary>
/// The host.json values the engine depends on, checked when the Functions app starts: the host applies host.json
/// without asking the app, so a changed value would otherwise fail quietly (every route 404, every ingest message
/// unreadable, syncs in another task hub than the one the API looks at).
/// </summary>
public static class HostJsonCheck
{
    public const string TaskHubExpression = "%Nylas:Durable:TaskHub%";

    /// <summary>
    /// The least extensions.queues.maxDequeueCount may be: the largest Nylas:Ingest:MaxDequeueCount allows. Retries and parking
    /// are the engine's (QueueDelivery), in both hosts: the function settles each message itself, so the Functions host's own
    /// count only matters for a worker that dies mid-message, and must never park work before the engine's policy would.
    /// </summary>
    public const int MinMaxDequeueCount = 100;

    /// <summary>What is wrong with <paramref name="hostJson"/>; empty when nothing is.</summary>
    public static IReadOnlyList<string> Problems(string hostJson)
    {
        var problems = new List<string>();
        using var doc = JsonDocument.Parse(hostJson, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var extensions = doc.RootElement.TryGetProperty("extensions", out var e) ? e : default;

        string? Value(string section, string name)
            => extensions.ValueKind == JsonValueKind.Object && extensions.TryGetProperty(section, out var s) && s.ValueKind == JsonValueKind.Object
               && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        if (Value("http", "routePrefix") != "")
            problems.Add("extensions.http.routePrefix must be \"\": the route table (ApiRoutes) serves /messages, not /api/messages, as the v2 SDK expects.");
        if (Value("queues", "messageEncoding") != "none")
            problems.Add("extensions.queues.messageEncoding must be \"none\": ingest messages are queued as plain JSON.");
        if (!(extensions.ValueKind == JsonValueKind.Object && extensions.TryGetProperty("queues", out var queues) && queues.ValueKind == JsonValueKind.Object
              && queues.TryGetProperty("maxDequeueCount", out var count) && count.ValueKind == JsonValueKind.Number && count.TryGetInt32(out int max)
              && max >= MinMaxDequeueCount))
            problems.Add($"extensions.queues.maxDequeueCount must be at least {MinMaxDequeueCount}: the engine's delivery policy (Nylas:Ingest:MaxDequeueCount, "
                + "at most 100) parks work with its error; the Functions host's own count, which parks without one, must never come first.");
        if (Value("durableTask", "hubName") != TaskHubExpression)
            problems.Add($"extensions.durableTask.hubName must be \"{TaskHubExpression}\", so that the orchestrations run in the task hub Nylas:Durable:TaskHub names.");
        return problems;
    }

    /// <summary>Throws, naming every problem, when the host.json next to the app is not what the engine needs.</summary>
    public static void Require(string path)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: the Functions app is deployed without its host.json.");
        var problems = Problems(File.ReadAllText(path));
        if (problems.Count > 0) throw new InvalidOperationException($"{path}:\n  " + string.Join("\n  ", problems));
    }
}
