namespace Nylas.Core.Messages;

/// <summary>A contact seen in mail: its normalized address and the best name it was given.</summary>
public sealed record ContactCandidate(string Email, string Name);

/// <summary>The distinct contacts of a message's participants, for the contacts the v2 API derives from mail.</summary>
public static class MessageContacts
{
    /// <summary>
    /// From, reply-to, to, cc and bcc (in that order), one per address (trimmed, lower-case); empty and invalid
    /// addresses skipped. The name kept is the first real name seen; a name that is only an address counts
    /// only when there is nothing better.
    /// </summary>
    public static IReadOnlyList<ContactCandidate> From(ParsedMessage message)
        => Distinct([.. message.From, .. message.ReplyTo, .. message.To, .. message.Cc, .. message.Bcc]);

    public static IReadOnlyList<ContactCandidate> Distinct(IEnumerable<Participant> participants)
    {
        var order = new List<string>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in participants)
        {
            var email = NormalizeAddress(p.Email);
            if (email is null) continue;
            var name = CleanName(p.Name);
            if (!names.TryGetValue(email, out var current))
            {
                order.Add(email);
                names[email] = name;
            }
            else if (NameScore(name) > NameScore(current))
            {
                names[email] = name;
            }
        }
        return order.Select(e => new ContactCandidate(e, names[e])).ToArray();
    }

    /// <summary>Trimmed, lower-case <c>local@domain</c>; null when that is not what it is.</summary>
    public static string? NormalizeAddress(string? address)
    {
        if (string.IsNullOrWhiteSpace(address)) return null;
        var email = address.Trim().Trim('<', '>').Trim().ToLowerInvariant();
        int at = email.LastIndexOf('@');
        if (at <= 0 || at == email.Length - 1 || email.IndexOf('@') != at && !email.StartsWith('"')) return null;
        if (email.Length > 320) return null;
        foreach (char c in email)
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or ',' or ';') return null;
        var domain = email[(at + 1)..];
        if (domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains("..")) return null;
        return email;
    }

    private static string CleanName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return "";
        return name.Trim().Trim('"', '\'').Trim();
    }

    /// <summary>0: no name; 1: a name that is an address (or looks like one); 2: a real name.</summary>
    private static int NameScore(string name) => name.Length == 0 ? 0 : name.Contains('@') ? 1 : 2;
}
