namespace Nylas.Testing;

/// <summary>A benchmark's <c>KEY=VALUE</c> argument: a setting (or environment variable) of the host under test.</summary>
public static class SettingArgument
{
    /// <param name="option">The option it came with, for the error message (<c>--set</c>).</param>
    public static KeyValuePair<string, string> Parse(string option, string text)
    {
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? new(text[..eq], text[(eq + 1)..]) : throw new ArgumentException($"{option} needs KEY=VALUE, not '{text}'");
    }
}
