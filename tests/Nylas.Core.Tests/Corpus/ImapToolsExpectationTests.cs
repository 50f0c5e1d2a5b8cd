using System.Globalization;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nylas.Core.Messages;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Core.Tests.Corpus;

/// <summary>
/// Our fields against imap_tools' expected parse (<c>imap_tools/expected-json</c>). Where they differ, the
/// difference must be listed and justified in <c>imap_tools-disagreements.json</c>; a listed difference that
/// no longer occurs fails too, so the file always says exactly where and why we disagree.
/// </summary>
public class ImapToolsExpectationTests(ITestOutputHelper output)
{
    public sealed record Disagreement(string File, string Field, string Expected, string Ours, string? Why = null);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    [SkippableFact]
    public async Task Fields_agree_with_imap_tools_except_the_justified_disagreements()
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        var expectedDir = Corpus.PathOf("imap_tools/expected-json");
        var mapper = new MimeMessageMapper();
        var found = new List<Disagreement>();
        int compared = 0;
        foreach (var jsonFile in Directory.EnumerateFiles(expectedDir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var expected = JsonNode.Parse(await File.ReadAllTextAsync(jsonFile))!;
            var eml = expected["_eml"]!.GetValue<string>();
            await using var stream = File.OpenRead(Corpus.PathOf(Path.Combine("imap_tools/messages", eml)));
            var ours = mapper.Map(stream);
            compared++;
            found.AddRange(await Compare(eml, expected, ours));
        }

        var justified = JsonSerializer.Deserialize<List<Disagreement>>(
            await File.ReadAllTextAsync(Corpus.TestDataFile("imap_tools-disagreements.json")), Json)!;
        var key = (Disagreement d) => (d.File, d.Field, d.Expected, d.Ours);
        var unexplained = found.Where(d => !justified.Any(j => key(j) == key(d))).ToList();
        var stale = justified.Where(j => !found.Any(d => key(d) == key(j))).ToList();
        var unjustified = justified.Where(j => string.IsNullOrWhiteSpace(j.Why)).ToList();

        output.WriteLine($"{compared} messages compared with imap_tools; {found.Count} justified disagreements in {found.Select(d => d.File).Distinct().Count()} messages:");
        foreach (var group in found.GroupBy(d => d.Field)) output.WriteLine($"  {group.Key}: {group.Count()}");
        Assert.True(compared >= 100, $"only {compared} expectations found");
        Assert.True(unexplained.Count == 0, "Disagreements without a justification (add them to imap_tools-disagreements.json with a why):\n" + JsonSerializer.Serialize(unexplained, Json));
        Assert.True(stale.Count == 0, "Justified disagreements that no longer occur (remove them):\n" + JsonSerializer.Serialize(stale, Json));
        Assert.True(unjustified.Count == 0, "Entries without a why:\n" + JsonSerializer.Serialize(unjustified, Json));
    }

    private static async Task<List<Disagreement>> Compare(string file, JsonNode expected, ParsedMessage ours)
    {
        var result = new List<Disagreement>();
        void Check(string field, string expectedValue, string ourValue)
        {
            if (expectedValue != ourValue) result.Add(new Disagreement(file, field, expectedValue, ourValue));
        }

        Check("subject", expected["subject"]!.GetValue<string>(), ours.Subject ?? "");
        Check("from", Person(expected["from_values"]), ours.From.Count == 0 ? "" : Person(ours.From[0]));
        foreach (var field in new[] { "to", "cc", "bcc" })
        {
            var ourList = field switch { "to" => ours.To, "cc" => ours.Cc, _ => ours.Bcc };
            Check(field, string.Join("; ", expected[field + "_values"]!.AsArray().Select(Person)), string.Join("; ", ourList.Select(Person)));
        }
        CheckDate(expected["date"]!.GetValue<string>(), ours.Date, result, file);
        Check("text", expected["text"]!.GetValue<string>().Length > 0 ? "present" : "absent", ours.HasTextBody ? "present" : "absent");
        Check("html", expected["html"]!.GetValue<string>().Length > 0 ? "present" : "absent", ours.HasHtmlBody ? "present" : "absent");

        var expectedFiles = expected["attachments"]!.AsArray().Select(a => Attachment(
            a!["filename"]!.GetValue<string>(), a["content_type"]!.GetValue<string>(),
            a["payload"]!["size"]!.GetValue<long>(), a["payload"]!["md5"]!.GetValue<string>())).Order(StringComparer.Ordinal);
        var ourFiles = new List<string>();
        foreach (var f in ours.Files)
        {
            using var buffer = new MemoryStream();
            await f.WriteContentAsync(buffer, CancellationToken.None);
            ourFiles.Add(Attachment(f.FilenameIsFallback ? "" : f.Filename, f.ContentType, buffer.Length, Convert.ToHexStringLower(MD5.HashData(buffer.ToArray()))));
        }
        Check("attachments", string.Join("\n", expectedFiles), string.Join("\n", ourFiles.Order(StringComparer.Ordinal)));
        return result;
    }

    private static void CheckDate(string expected, DateTimeOffset? ours, List<Disagreement> result, string file)
    {
        string ourValue = ours?.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) ?? "";
        bool agree;
        if (expected == "1900-01-01T00:00:00")
        {
            // imap_tools' "unparseable" value; ours is null (ingest then uses INTERNALDATE).
            agree = ours is null;
        }
        else if (DateTimeOffset.TryParseExact(expected, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset))
        {
            agree = ours is { } o && o == withOffset && o.Offset == withOffset.Offset;
        }
        else
        {
            // A date without zone in imap_tools: compare the wall-clock time.
            agree = ours is { } o && DateTime.TryParseExact(expected, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var naive) && o.DateTime == naive;
        }
        if (!agree) result.Add(new Disagreement(file, "date", expected, ourValue));
    }

    private static string Person(JsonNode? node)
        => node is null ? "" : $"{node["name"]!.GetValue<string>()} <{node["email"]!.GetValue<string>()}>";

    private static string Person(Participant p) => $"{p.Name} <{p.Email}>";

    private static string Attachment(string name, string contentType, long size, string md5) => $"{name} | {contentType} | {size} | {md5}";
}
