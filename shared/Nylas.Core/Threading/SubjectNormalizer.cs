using System.Collections.Frozen;
using System.Text;

namespace Nylas.Core.Threading;

/// <summary>
/// Subjects reduced to what a conversation has in common: reply/forward prefixes in many languages
/// (<c>Re:</c>, <c>Fwd:</c>, <c>AW:</c>, <c>SV:</c>, <c>回复：</c>, <c>Ответ:</c>, counted forms such as
/// <c>Re[2]:</c>, <c>Re(3):</c>, <c>Re^2:</c>, any number and mix of them), mailing-list tags
/// (<c>[dev]</c>) before or between those prefixes and a trailing <c>(fwd)</c> are removed, whitespace
/// is collapsed, the result is trimmed, NFC-normalized and lowercased (invariant).
/// </summary>
/// <remarks>
/// A prefix is a whole word from the list followed by an optional counter, optional spaces and a colon
/// (ASCII <c>:</c> or full-width <c>：</c>). The colon is required and the word must end right before
/// the counter/colon, so "Reunion: Friday", "Write-up: notes", "Fwding tips", "Regarding: x" or
/// "Invoice" are never touched. A <c>[…]</c> tag (at most <see cref="MaxTagLength"/> characters) is
/// only removed when some text follows it, so a subject that is nothing but a tag keeps it.
/// </remarks>
public static class SubjectNormalizer
{
    /// <summary>Longest <c>[list-tag]</c> that is dropped, brackets included.</summary>
    public const int MaxTagLength = 64;

    private static readonly FrozenSet<string> Prefixes = new[]
    {
        // reply
        "re", "aw", "antw", "antwort", "sv", "vs", "vast", "odp", "ynt", "res", "rif", "r", "atb",
        "vá", "válasz", "odg", "odgovor", "отв", "ответ", "відп", "απ", "σχετ", "השב",
        "回复", "回覆", "答复", "答覆", "返信", "회신", "답장",
        // forward
        "fwd", "fw", "wg", "doorst", "i", "enc", "rv", "tr", "trs", "pd", "ilt", "\u0130lt", "i\u0307lt", "vb", "vl", "fs",
        "továbbítás", "пересл", "прсл", "πρθ", "הועבר",
        "转发", "轉發", "转寄", "轉寄", "転送", "전달",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The normalized subject ("" for null/empty or a subject that is only prefixes).</summary>
    public static string Normalize(string? subject) => Strip(subject, out _);

    /// <summary>True when the subject carries at least one reply/forward prefix (or a trailing "(fwd)").</summary>
    public static bool IsReplyOrForward(string? subject)
    {
        Strip(subject, out var prefixes);
        return prefixes > 0;
    }

    private static string Strip(string? subject, out int prefixes)
    {
        prefixes = 0;
        if (string.IsNullOrWhiteSpace(subject)) return "";
        var s = subject.IsNormalized(NormalizationForm.FormC) ? subject : subject.Normalize(NormalizationForm.FormC);

        var i = 0;
        while (true)
        {
            i = SkipSpace(s, i);
            if (i >= s.Length) break;
            if (s[i] == '[' && TryTag(s, i, out var afterTag)) { i = afterTag; continue; }
            if (TryPrefix(s, i, out var afterPrefix)) { i = afterPrefix; prefixes++; continue; }
            break;
        }

        var collapsed = Collapse(s.AsSpan(i));
        // Old-style forwards: "Topic (fwd)".
        while (collapsed.EndsWith("(fwd)", StringComparison.OrdinalIgnoreCase))
        {
            collapsed = collapsed[..^"(fwd)".Length].TrimEnd();
            prefixes++;
        }
        return collapsed.ToLowerInvariant();
    }

    private static bool TryTag(string s, int open, out int next)
    {
        next = open;
        var close = s.IndexOf(']', open + 1);
        if (close < 0 || close - open + 1 > MaxTagLength) return false;
        if (SkipSpace(s, close + 1) >= s.Length) return false; // nothing after it: the tag is the subject
        next = close + 1;
        return true;
    }

    private static bool TryPrefix(string s, int start, out int next)
    {
        next = start;
        var end = start;
        while (end < s.Length && char.IsLetter(s[end])) end++;
        // Combining marks (e.g. the dot of a decomposed Turkish İ) belong to the word.
        while (end < s.Length && char.GetUnicodeCategory(s[end]) == System.Globalization.UnicodeCategory.NonSpacingMark)
        {
            end++;
            while (end < s.Length && char.IsLetter(s[end])) end++;
        }
        if (end == start || !Prefixes.Contains(s[start..end])) return false;

        var k = SkipCounter(s, end);
        k = SkipSpace(s, k);
        if (k >= s.Length || (s[k] != ':' && s[k] != '：')) return false;
        next = k + 1;
        return true;
    }

    /// <summary>Skips "[2]", "(3)", "^4" or "5" right after a prefix word; returns <paramref name="i"/> when there is none.</summary>
    private static int SkipCounter(string s, int i)
    {
        if (i >= s.Length) return i;
        var (open, close) = s[i] switch
        {
            '[' => (1, ']'),
            '(' => (1, ')'),
            '^' => (1, '\0'),
            _ => (0, '\0'),
        };
        var j = i + open;
        var digitsStart = j;
        while (j < s.Length && char.IsAsciiDigit(s[j])) j++;
        if (j == digitsStart) return i;
        if (close == '\0') return j;
        return j < s.Length && s[j] == close ? j + 1 : i;
    }

    private static int SkipSpace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        return i;
    }

    private static string Collapse(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace) sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString();
    }
}
