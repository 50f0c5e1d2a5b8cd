using System.Text.Json;
using MimeKit;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Api.Drafts;

/// <summary>
/// The writable fields of a v2 draft (what POST /drafts, PUT /drafts/{id} and an inline POST /send carry). A field
/// absent from the body is null here, so an update keeps what the draft had. The v2 SDK sends every field, read-only
/// ones and empty ones included (<c>labels: []</c>, <c>date: null</c>, <c>from: []</c>, a <c>folder</c> without id):
/// only these are read, the rest is ignored.
/// </summary>
/// <param name="ReplyToMessageId">Present and empty ("" or null) means "answers nothing"; see <paramref name="HasReplyToMessageId"/>.</param>
public sealed record DraftFields(
    IReadOnlyList<MailboxAddress>? To,
    IReadOnlyList<MailboxAddress>? Cc,
    IReadOnlyList<MailboxAddress>? Bcc,
    IReadOnlyList<MailboxAddress>? ReplyTo,
    IReadOnlyList<MailboxAddress>? From,
    string? Subject,
    string? Body,
    string? ReplyToMessageId,
    bool HasReplyToMessageId,
    IReadOnlyList<string>? FileIds,
    int? Version,
    IReadOnlyDictionary<string, string>? Metadata = null)
{
    /// <summary>The fields of <paramref name="root"/>, or every problem with them in one message.</summary>
    public static (DraftFields? Fields, string? Problem) Read(JsonElement root, Account account)
    {
        var problems = new List<string>();
        var from = Addresses(root, "from", problems);
        if (from is { Count: > 1 }) problems.Add("from: at most one address (the account's own)");
        else if (from is [var sender] && !IsAccountAddress(account, sender.Address))
            problems.Add($"from: '{sender.Address}' is not the account's address; leave from empty to send as {account.EmailAddress}");
        var fields = new DraftFields(
            Addresses(root, "to", problems), Addresses(root, "cc", problems), Addresses(root, "bcc", problems), Addresses(root, "reply_to", problems),
            from, Text(root, "subject", problems), Text(root, "body", problems), Text(root, "reply_to_message_id", problems),
            root.TryGetProperty("reply_to_message_id", out _), Ids(root, "file_ids", problems), ReadVersion(root, problems));
        if (fields.ReplyToMessageId is { Length: > 0 } reply && !PublicId.IsWellFormed(reply))
            problems.Add($"reply_to_message_id: '{reply}' is not a message id");
        return problems.Count > 0 ? (null, string.Join("; ", problems) + ".") : (fields, null);
    }

    /// <summary>The sender: the account's address, with the name given in from or else the account's name.</summary>
    public MailboxAddress Sender(Account account)
        => new(From is [{ Name.Length: > 0 } named] ? named.Name : account.Name, account.EmailAddress);

    public static bool IsAccountAddress(Account account, string address) => string.Equals(address.Trim(), account.EmailAddress, StringComparison.OrdinalIgnoreCase);

    /// <summary>local@domain with a dotted or bracketed domain, as MimeKit parses it back, and nothing else in the string.</summary>
    public static bool IsWellFormed(string address)
    {
        if (string.IsNullOrWhiteSpace(address) || address.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or ',' or ';')) return false;
        if (!MailboxAddress.TryParse(address, out var parsed) || parsed.Address != address) return false;
        return parsed.LocalPart.Length > 0 && parsed.Domain is { Length: > 0 } domain && (domain.Contains('.') || domain.StartsWith('['));
    }

    /// <summary>A participant list as MIME addresses (what an update keeps when the field is absent).</summary>
    public static IReadOnlyList<MailboxAddress> ToMailboxes(IReadOnlyList<ApiParticipant> participants)
        => participants.Select(p => new MailboxAddress(p.Name ?? "", p.Email)).ToList();

    /// <summary>A v2 participant list (<c>[{"name", "email"}]</c>); null when absent, empty when null.</summary>
    private static List<MailboxAddress>? Addresses(JsonElement root, string field, List<string> problems)
    {
        if (!root.TryGetProperty(field, out var value)) return null;
        var list = new List<MailboxAddress>();
        if (value.ValueKind == JsonValueKind.Null) return list;
        if (value.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{field} must be a list of {{\"name\", \"email\"}} objects");
            return list;
        }
        foreach (var item in value.EnumerateArray())
        {
            string? email = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("email", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            string? name = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (email is null)
                problems.Add($"{field}: every entry needs an \"email\" string");
            else if (!IsWellFormed(email.Trim()))
                problems.Add($"{field}: '{email}' is not a valid email address");
            else
                list.Add(new MailboxAddress(name ?? "", email.Trim()));
        }
        return list;
    }

    private static string? Text(JsonElement root, string field, List<string> problems)
    {
        if (!root.TryGetProperty(field, out var value)) return null;
        if (value.ValueKind == JsonValueKind.Null) return "";
        if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
        problems.Add($"{field} must be a string");
        return null;
    }

    private static List<string>? Ids(JsonElement root, string field, List<string> problems)
    {
        if (!root.TryGetProperty(field, out var value)) return null;
        if (value.ValueKind == JsonValueKind.Null) return [];
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            problems.Add($"{field} must be a list of file ids");
            return null;
        }
        var ids = value.EnumerateArray().Select(v => v.GetString()!).ToList();
        foreach (string bad in ids.Where(id => !PublicId.IsWellFormed(id))) problems.Add($"{field}: '{bad}' is not a file id");
        return ids;
    }

    private static int? ReadVersion(JsonElement root, List<string> problems)
    {
        if (!root.TryGetProperty("version", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int version) && version >= 0) return version;
        problems.Add("version must be a whole number (the draft's version as last read)");
        return null;
    }
}
