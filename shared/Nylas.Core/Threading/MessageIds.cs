namespace Nylas.Core.Threading;

/// <summary>
/// The form in which Message-IDs are compared and indexed: surrounding whitespace and one pair of
/// angle brackets removed, otherwise unchanged (compared ordinally, case-sensitive: the SQL column that
/// stores them should use a binary collation such as <c>ascii_bin</c>/<c>utf8mb4_bin</c> to match the
/// in-memory reference). Anything that cannot be a real id is rejected so it never links unrelated
/// mail: empty, <c>&lt;&gt;</c>, contains whitespace, control characters or angle brackets, has no
/// <c>@</c> with text on both sides, or is longer than <see cref="MaxLength"/>.
/// </summary>
public static class MessageIds
{
    /// <summary>Longest id that is used (RFC 5322 allows up to a 998-char line; real ids are &lt; 250).</summary>
    public const int MaxLength = 250;

    /// <summary>The canonical id, or null when <paramref name="raw"/> is not a usable Message-ID.</summary>
    public static string? Normalize(string? raw)
    {
        if (raw is null) return null;
        var s = raw.AsSpan().Trim();
        if (s.StartsWith('<') && s.EndsWith('>') && s.Length >= 2) s = s[1..^1].Trim();
        if (s.Length == 0 || s.Length > MaxLength) return null;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>') return null;
        }
        var at = s.LastIndexOf('@');
        if (at <= 0 || at == s.Length - 1) return null;
        return s.ToString();
    }

    /// <summary>
    /// The stand-in own id of a message that has no usable Message-ID, built from a stable key of its
    /// content (e.g. the SHA-256 of the raw MIME), so that redelivering it finds the same thread.
    /// It uses the reserved <c>.invalid</c> domain, so it can never equal a real id.
    /// </summary>
    public static string? Synthetic(string? stableKey)
    {
        if (string.IsNullOrWhiteSpace(stableKey)) return null;
        return Normalize($"{stableKey.Trim()}@content.nylas.invalid");
    }
}
