using System.Text;

namespace Nylas.Core.Search;

/// <summary>
/// Turns a user's search text into a MySQL/MariaDB InnoDB FULLTEXT query in BOOLEAN MODE: every word is
/// required, a "quoted phrase" stays a phrase, and the user cannot reach the boolean operators.
/// Words InnoDB never indexes (shorter than its 3-character minimum, or on its default stopword list)
/// are left out: as required terms they would make every search return nothing.
/// </summary>
public static class FullTextQuery
{
    public const int MaxLength = 500;
    public const int MaxTerms = 20;

    /// <summary>innodb_ft_min_token_size, the default on MariaDB and MySQL (Azure included).</summary>
    public const int MinTokenLength = 3;

    /// <summary>InnoDB's default stopword list (INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD).</summary>
    private static readonly HashSet<string> Stopwords = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how", "i", "in", "is", "it",
        "la", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when", "where", "who", "will", "with", "und", "www",
    };

    /// <summary>The BOOLEAN MODE query, or the reason the text cannot be searched.</summary>
    public static (string? Query, string? Error) Build(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, "q is required: the words to search for.");
        if (text.Length > MaxLength) return (null, $"q is {text.Length} characters long: at most {MaxLength}.");

        var terms = new List<string>();
        foreach (var (chunk, quoted) in Chunks(text))
        {
            var words = Words(chunk).Where(Indexed).ToList();
            if (words.Count == 0) continue;
            // A quoted phrase, or one typed word that the index splits into several (alice@example.org,
            // e-mail), must match as those words in that order.
            terms.Add(words.Count == 1 && !quoted ? "+" + words[0] : "+\"" + string.Join(' ', words) + "\"");
        }
        if (terms.Count == 0)
            return (null, $"q has no word that can be searched: words shorter than {MinTokenLength} characters and very common words (the, and, for, ...) are not indexed.");
        if (terms.Count > MaxTerms) return (null, $"q has {terms.Count} words: at most {MaxTerms}.");
        return (string.Join(' ', terms), null);
    }

    private static bool Indexed(string word) => word.Length >= MinTokenLength && !Stopwords.Contains(word);

    /// <summary>Whitespace-separated words and "quoted phrases" (an unclosed quote runs to the end).</summary>
    private static IEnumerable<(string Text, bool Quoted)> Chunks(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i])) { i++; continue; }
            if (text[i] == '"')
            {
                int end = text.IndexOf('"', i + 1);
                if (end < 0) end = text.Length;
                yield return (text[(i + 1)..end], true);
                i = end + 1;
                continue;
            }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '"') i++;
            yield return (text[start..i], false);
        }
    }

    /// <summary>The words InnoDB's tokenizer sees: runs of letters and digits (everything else separates them).</summary>
    private static IEnumerable<string> Words(string chunk)
    {
        var word = new StringBuilder();
        foreach (char c in chunk)
        {
            if (char.IsLetterOrDigit(c) || c == '_') { word.Append(c); continue; }
            if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
        }
        if (word.Length > 0) yield return word.ToString();
    }
}
