namespace Nylas.DevTool;

/// <summary>A failure with a message fit to show the user as the tool's one-line error.</summary>
public class ToolException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The API could not be reached at all (connection refused, timeout): worth retrying while waiting.</summary>
public sealed class ApiUnreachableException(string message, Exception? inner = null) : ToolException(message, inner);

/// <summary>Progress goes to stderr so stdout stays machine-readable (KEY=value lines only).</summary>
internal static class Log
{
    public static void Info(string message) => Console.Error.WriteLine(message);
}
