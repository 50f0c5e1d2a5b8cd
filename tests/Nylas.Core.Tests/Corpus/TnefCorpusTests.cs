using System.Security.Cryptography;
using System.Text.Json;
using MimeKit;
using Nylas.Core.Messages;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Core.Tests.Corpus;

/// <summary>
/// Each <c>mimekit/tnef/X.tnef</c> sent as a winmail.dat attachment: our files are the names in <c>X.list</c>
/// (MimeKit's own test reads them as "must be among the attachments") plus the extras justified in
/// <c>tnef-disagreements.json</c>; the bytes of files MimeKit's test data also holds under <c>X/</c> match.
/// </summary>
public class TnefCorpusTests(ITestOutputHelper output)
{
    public sealed record TnefExtra(string File, IReadOnlyList<string> Extra, string Why);

    [SkippableFact]
    public async Task Tnef_attachments_match_the_expected_lists()
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        var tnefDir = Corpus.PathOf("mimekit/tnef");
        var justified = JsonSerializer.Deserialize<List<TnefExtra>>(
            await File.ReadAllTextAsync(Corpus.TestDataFile("tnef-disagreements.json")),
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        var failures = new List<string>();
        int checkedFiles = 0, comparedBytes = 0;
        foreach (var tnefPath in Directory.EnumerateFiles(tnefDir, "*.tnef").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(tnefPath);
            var expected = File.ReadAllLines(Path.Combine(tnefDir, name + ".list")).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            var parsed = new MimeMessageMapper().Map(new MemoryStream(WinmailMessage(await File.ReadAllBytesAsync(tnefPath))));
            var ours = parsed.Files.Select(f => f.Filename).ToList();

            var missing = Minus(expected, ours);
            var extra = Minus(ours, expected);
            var allowed = justified.FirstOrDefault(j => j.File == name)?.Extra ?? [];
            if (missing.Count > 0) failures.Add($"{name}: missing {string.Join(", ", missing)} (ours: {string.Join(", ", ours)})");
            if (!extra.Order().SequenceEqual(allowed.Order())) failures.Add($"{name}: extra files [{string.Join(", ", extra)}], justified [{string.Join(", ", allowed)}]");
            if (parsed.Files.Any(f => !f.FromTnef)) failures.Add($"{name}: winmail.dat itself listed as a file");

            var bytesDir = Path.Combine(tnefDir, name);
            foreach (var file in parsed.Files)
            {
                // MimeKit's test data names the TNEF body message.rtf / message.html.
                var referenceName = file.Filename switch { "body.rtf" => "message.rtf", "body.html" => "message.html", _ => file.Filename };
                var reference = Path.Combine(bytesDir, referenceName);
                if (!File.Exists(reference)) continue;
                comparedBytes++;
                using var content = new MemoryStream();
                await file.WriteContentAsync(content, CancellationToken.None);
                var ourBytes = content.ToArray();
                if (ourBytes.Length != file.Size || Convert.ToHexStringLower(SHA256.HashData(ourBytes)) != file.Sha256)
                    failures.Add($"{name}: {file.Filename} written content differs from its record");
                if (!SameContent(ourBytes, await File.ReadAllBytesAsync(reference)))
                    failures.Add($"{name}: {file.Filename} differs from {reference}");
            }
            checkedFiles++;
        }
        output.WriteLine($"{checkedFiles} TNEF streams checked, {comparedBytes} files compared byte for byte");
        Assert.True(checkedFiles >= 19, $"only {checkedFiles} TNEF streams found");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SkippableTheory]
    [InlineData("mimekit/tnef/rich-text.eml")]
    [InlineData("mimekit/tnef/ukr.eml")]
    public void Messages_with_a_winmail_dat_list_its_contents_not_the_container(string file)
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        using var stream = File.OpenRead(Corpus.PathOf(file));
        var parsed = new MimeMessageMapper().Map(stream, persistent: true);
        Assert.DoesNotContain(parsed.Files, f => f.Filename.Equals("winmail.dat", StringComparison.OrdinalIgnoreCase));
        Assert.All(parsed.Files, f => Assert.True(f.FromTnef));
    }

    /// <summary>A message with an HTML body of its own and the TNEF stream as winmail.dat, as Outlook sends it.</summary>
    internal static byte[] WinmailMessage(byte[] tnef)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Outlook", "outlook@example.com"));
        message.To.Add(new MailboxAddress("", "someone@example.com"));
        message.Subject = "winmail";
        var mixed = new Multipart("mixed")
        {
            new TextPart("html") { Text = "<p>See the attachment.</p>" },
            new MimePart("application", "ms-tnef")
            {
                FileName = "winmail.dat",
                Content = new MimeContent(new MemoryStream(tnef)),
                ContentTransferEncoding = ContentEncoding.Base64,
            },
        };
        message.Body = mixed;
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>
    /// Equal bytes; or, for a reference file without any CR, equal once CRs are removed from ours: the upstream
    /// repository's git line-ending normalisation stripped the CRs of its text-like reference files (.htm, .ini, .cfg, .rtf).
    /// </summary>
    private static bool SameContent(byte[] ours, byte[] reference)
        => ours.AsSpan().SequenceEqual(reference)
           || (!reference.Contains((byte)'\r') && ours.Where(b => b != (byte)'\r').SequenceEqual(reference));

    private static List<string> Minus(List<string> a, List<string> b)
    {
        var rest = new List<string>(a);
        foreach (var item in b) rest.Remove(item);
        return rest;
    }
}
