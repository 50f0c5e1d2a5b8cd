using System.Diagnostics;

namespace Nylas.Engine.Telemetry;

/// <summary>The engine's trace source and the names its metrics and spans share (OpenTelemetry naming).</summary>
public static class EngineTelemetry
{
    /// <summary>Name of both the engine's <see cref="System.Diagnostics.Metrics.Meter"/> and its <see cref="ActivitySource"/>.</summary>
    public const string Name = "Nylas.Engine";

    // An ActivitySource is process-wide by design (no factory as for meters); spans carry the account id.
    public static readonly ActivitySource Source = new(Name);

    public const string AccountId = "nylas.account.id";
    public const string Outcome = "nylas.outcome";
    public const string ErrorType = "error.type";

    /// <summary>Sets a tag on the current span when it is one of ours (never on a host's or a library's span).</summary>
    public static void Tag(string name, object? value)
    {
        if (Activity.Current is { } current && current.Source == Source) current.SetTag(name, value);
    }
}

/// <summary>Implemented by the IMAP protocol logger: commands the client sent on one connection.</summary>
public interface IImapCommandCounter
{
    long CommandsSent { get; }
}
