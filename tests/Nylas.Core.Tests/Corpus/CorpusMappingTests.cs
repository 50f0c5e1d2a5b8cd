using System.Security.Cryptography;
using Nylas.Core.Messages;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Core.Tests.Corpus;

/// <summary>Every message of the shared corpus maps, persistent or not, and its files' content matches their hashes.</summary>
public class CorpusMappingTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Every_corpus_message_maps_without_an_exception_and_both_parse_modes_agree()
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        var mapper = new MimeMessageMapper();
        var messages = Corpus.Messages();
        int files = 0, events = 0, noted = 0;
        var failures = new List<string>();
        foreach (var message in messages)
        {
            ParsedMessage inMemory, persistent;
            try
            {
                inMemory = mapper.Map(new MemoryStream(message.Bytes));
                persistent = mapper.Map(new MemoryStream(message.Bytes), persistent: true);
            }
            catch (Exception ex)
            {
                failures.Add($"{message}: {ex}");
                continue;
            }
            if (inMemory.ParseError is not null) failures.Add($"{message}: parse error {inMemory.ParseError}");
            if (Summary(inMemory) != Summary(persistent)) failures.Add($"{message}: persistent parse differs\n  {Summary(inMemory)}\n  {Summary(persistent)}");
            foreach (var file in persistent.Files)
            {
                var (size, sha) = await ContentOf(file);
                if (size != file.Size || sha != file.Sha256) failures.Add($"{message}: {file.Filename} content {size}/{sha} but record {file.Size}/{file.Sha256}");
            }
            files += inMemory.Files.Count;
            events += inMemory.Events.Count;
            if (inMemory.ParseNotes.Count > 0) noted++;
        }
        output.WriteLine($"{messages.Count} corpus messages mapped: {files} files, {events} events, {noted} with parse notes, {failures.Count} failures");
        Assert.True(messages.Count >= 224, $"only {messages.Count} messages found in {Corpus.Directory}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SkippableTheory]
    [InlineData("supplements/spamassassin-cjk/gb2312.1", "全新原装进口，送货上门")]
    [InlineData("supplements/spamassassin-cjk/big5-base64.1", "[SLAT-talk] 鉅靡6月17日新片又到")]
    [InlineData("supplements/spamassassin-cjk/gb2312.2", "RE: 装硬碟问题")]
    [InlineData("imap_tools/messages/multi_charset/japanese_iso_2022.eml", "まみむめも")]
    [InlineData("mimekit/messages/japanese.txt", "日本語メールテスト")]
    public void Undeclared_and_legacy_charsets_in_subjects_are_decoded(string file, string subjectStart)
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        using var stream = File.OpenRead(Corpus.PathOf(file));
        var parsed = new MimeMessageMapper().Map(stream);
        Assert.StartsWith(subjectStart, parsed.Subject);
    }

    [SkippableFact]
    public void The_136_KB_folded_To_header_is_cut_and_flagged()
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        using var stream = File.OpenRead(Corpus.PathOf("mimekit/messages/stack-overflow.txt"));
        var parsed = new MimeMessageMapper().Map(stream);
        Assert.True(parsed.HeadersTruncated);
        Assert.Contains(parsed.ParseNotes, n => n.Contains("header To", StringComparison.Ordinal));
        Assert.Equal("Message Subject", parsed.Subject);
        Assert.Equal("test@test.com", Assert.Single(parsed.From).Email);
    }

    internal static async Task<(long Size, string Sha256)> ContentOf(ParsedFile file)
    {
        using var buffer = new MemoryStream();
        await file.WriteContentAsync(buffer, CancellationToken.None);
        return (buffer.Length, Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray())));
    }

    private static string Summary(ParsedMessage p) => string.Join(" | ",
        p.Subject, string.Join(",", p.From), string.Join(",", p.To), p.Date, p.Snippet, p.BodyHtml.Length, p.HasTextBody, p.HasHtmlBody,
        string.Join(",", p.Files.Select(f => $"{f.Filename}:{f.ContentType}:{f.Size}:{f.Sha256}:{f.Disposition}:{f.ContentId}")),
        string.Join(",", p.Events.Select(e => $"{e.Uid}:{e.Method}:{e.Title}")), string.Join(",", p.ParseNotes));
}
