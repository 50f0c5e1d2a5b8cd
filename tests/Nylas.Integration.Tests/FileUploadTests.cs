using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Storage;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The read fixture's mailbox (it has an attachment), with a small upload limit and no sweep grace period.</summary>
public sealed class WritesFixture : ReadApiFixture
{
    public const long MaxUpload = 100_000;

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Files:MaxUploadBytes"] = MaxUpload.ToString();
        settings["Nylas:Storage:SweepGraceMinutes"] = "0";
    }

    /// <summary>The account's database id and shard database name.</summary>
    public async Task<(long Id, string Shard)> AccountRowAsync(string publicId)
    {
        long id = await Databases.AccountRowIdAsync(publicId);
        long shard = await Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {id}");
        return (id, $"shard{shard}");
    }

    public async Task<string> LatestCursorAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/delta/latest_cursor", null);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cursor").GetString()!;
    }

    /// <summary>Every delta after <paramref name="cursor"/> (the log is written in the request's transaction: no waiting).</summary>
    public async Task<List<JsonElement>> DeltasSinceAsync(HttpClient http, string cursor)
    {
        var page = await http.GetFromJsonAsync<JsonElement>($"/delta?cursor={cursor}&limit=500");
        return page.GetProperty("deltas").EnumerateArray().ToList();
    }
}

/// <summary>POST /files, GET /files/{id}(/download) of uploads, DELETE /files/{id}, and the blob sweep counting uploads.</summary>
public class FileUploadTests(WritesFixture host) : IClassFixture<WritesFixture>
{
    private static MultipartFormDataContent Form(byte[] content, string filename = "notes.txt", string contentType = "text/plain", string field = "file")
    {
        var part = new ByteArrayContent(content);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return new MultipartFormDataContent { { part, field, filename } };
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> UploadAsync(HttpClient http, HttpContent content)
        => SendAsync(http, new HttpRequestMessage(HttpMethod.Post, "/files") { Content = content });

    /// <summary>DELETE with the body the v2 SDK always sends.</summary>
    private static Task<(HttpStatusCode Status, JsonElement Body)> DeleteAsync(HttpClient http, string id)
        => SendAsync(http, new HttpRequestMessage(HttpMethod.Delete, $"/files/{id}") { Content = new StringContent("{}", Encoding.UTF8, "text/plain") });

    private static void AssertError(HttpStatusCode expected, (HttpStatusCode Status, JsonElement Body) answer, string mentions)
    {
        Assert.True(answer.Status == expected, $"expected {(int)expected}, got {(int)answer.Status}: {answer.Body}");
        Assert.Equal("invalid_request_error", answer.Body.GetProperty("type").GetString());
        Assert.Contains(mentions, answer.Body.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_upload_is_listed_found_downloaded_byte_for_byte_and_deleted()
    {
        using var http = host.Client(host.A.Token);
        string cursor = await host.LatestCursorAsync(http);
        byte[] content = RandomNumberGenerator.GetBytes(70_000);
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        const string name = "Übersicht März.bin";

        var (status, body) = await UploadAsync(http, Form(content, name, "application/x-test"));
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var file = Assert.Single(body.EnumerateArray());
        string id = file.GetProperty("id").GetString()!;
        Assert.Equal("file", file.GetProperty("object").GetString());
        Assert.Equal(host.A.AccountId, file.GetProperty("account_id").GetString());
        Assert.Equal(name, file.GetProperty("filename").GetString());
        Assert.Equal("application/x-test", file.GetProperty("content_type").GetString());
        Assert.Equal(content.Length, file.GetProperty("size").GetInt64());
        Assert.Equal(JsonValueKind.Null, file.GetProperty("content_id").ValueKind);
        Assert.Equal(0, file.GetProperty("message_ids").GetArrayLength());

        // GET /files/{id} shows what the upload answered; /files lists it; the bytes are stored under their SHA-256.
        var found = await http.GetFromJsonAsync<JsonElement>($"/files/{id}");
        Assert.Equal(file.ToString(), found.ToString());
        var listed = await http.GetFromJsonAsync<JsonElement>($"/files?filename={Uri.EscapeDataString(name)}");
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        Assert.True(await host.App.Services.GetRequiredService<FileStore>().ExistsAsync(sha));

        using (var download = await http.GetAsync($"/files/{id}/download"))
        {
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
            Assert.Equal(name, download.Content.Headers.ContentDisposition?.FileNameStar);
            Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
        }

        // The change feed has the upload (a create of a file deleted later is left out of later pages: read it now).
        var created = Assert.Single(await host.DeltasSinceAsync(http, cursor), d => d.GetProperty("id").GetString() == id);
        Assert.Equal(("file", "create"), (created.GetProperty("object").GetString(), created.GetProperty("event").GetString()));
        Assert.Equal(name, created.GetProperty("attributes").GetProperty("filename").GetString());

        var deleted = await DeleteAsync(http, id);
        Assert.True(deleted.Status == HttpStatusCode.OK, deleted.Body.ToString());
        Assert.True(deleted.Body.GetProperty("success").GetBoolean());
        AssertError(HttpStatusCode.NotFound, await SendAsync(http, new HttpRequestMessage(HttpMethod.Get, $"/files/{id}")), id);
        AssertError(HttpStatusCode.NotFound, await SendAsync(http, new HttpRequestMessage(HttpMethod.Get, $"/files/{id}/download")), id);
        AssertError(HttpStatusCode.NotFound, await DeleteAsync(http, id), id);

        var gone = Assert.Single(await host.DeltasSinceAsync(http, cursor), d => d.GetProperty("id").GetString() == id);
        Assert.Equal(("file", "delete"), (gone.GetProperty("object").GetString(), gone.GetProperty("event").GetString()));
    }

    [Fact]
    public async Task Several_file_parts_are_several_files_in_one_answer()
    {
        using var http = host.Client(host.A.Token);
        var form = Form(Encoding.UTF8.GetBytes("one"), "one.txt");
        form.Add(new StringContent("ignored"), "note"); // a plain form field: not a file
        var second = new ByteArrayContent(Encoding.UTF8.GetBytes("two, with no Content-Type"));
        form.Add(second, "file", "two.dat");
        var (status, body) = await UploadAsync(http, form);
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var files = body.EnumerateArray().ToList();
        Assert.Equal(["one.txt", "two.dat"], files.Select(f => f.GetProperty("filename").GetString()));
        Assert.Equal(["text/plain", "application/octet-stream"], files.Select(f => f.GetProperty("content_type").GetString()));
        foreach (var f in files)
            Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(http, f.GetProperty("id").GetString()!)).Status);
    }

    [Fact]
    public async Task A_deleted_uploads_blob_is_swept_only_once_no_file_references_its_bytes()
    {
        using var http = host.Client(host.A.Token);
        using var other = host.Client(host.B.Token);
        byte[] content = RandomNumberGenerator.GetBytes(5_000);
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        var store = host.App.Services.GetRequiredService<FileStore>();
        var sweeper = host.App.Services.GetRequiredService<BlobSweeper>();

        // The same bytes uploaded twice by one account (two files) and once by another.
        string first = (await UploadAsync(http, Form(content, "a.bin"))).Body[0].GetProperty("id").GetString()!;
        string second = (await UploadAsync(http, Form(content, "a.bin"))).Body[0].GetProperty("id").GetString()!;
        string theirs = (await UploadAsync(other, Form(content, "b.bin"))).Body[0].GetProperty("id").GetString()!;
        Assert.Equal(3, new[] { first, second, theirs }.Distinct().Count());

        foreach (var (client, id) in new[] { (http, first), (http, second) })
        {
            Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(client, id)).Status);
            await sweeper.SweepAsync(CancellationToken.None);
            Assert.True(await store.ExistsAsync(sha), "swept while another upload still references the bytes");
        }
        using (var download = await other.GetAsync($"/files/{theirs}/download"))
            Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(other, theirs)).Status);
        await sweeper.SweepAsync(CancellationToken.None);
        Assert.False(await store.ExistsAsync(sha), "the last reference is gone but the blob is still there");
    }

    [Fact]
    public async Task Bad_uploads_are_refused_with_a_json_error_naming_the_problem()
    {
        using var http = host.Client(host.A.Token);
        long before = (await http.GetFromJsonAsync<JsonElement>("/files?view=count")).GetProperty("count").GetInt64();

        AssertError(HttpStatusCode.BadRequest, await UploadAsync(http, new StringContent("{\"file\":\"x\"}", Encoding.UTF8, "application/json")), "multipart/form-data");
        AssertError(HttpStatusCode.BadRequest, await UploadAsync(http, Form([1, 2, 3], field: "attachment")), "'file'");
        AssertError(HttpStatusCode.BadRequest, await UploadAsync(http, Form([])), "empty");
        var noName = new MultipartFormDataContent();
        noName.Add(new ByteArrayContent([1, 2, 3]), "file");
        AssertError(HttpStatusCode.BadRequest, await UploadAsync(http, noName), "filename");

        // Over the limit: a file just over it (the handler), a body far over it (the pipeline, by Content-Length),
        // and the same without a Content-Length (cut off while it is read).
        AssertError(HttpStatusCode.RequestEntityTooLarge, await UploadAsync(http, Form(new byte[WritesFixture.MaxUpload + 1])), $"{WritesFixture.MaxUpload}");
        AssertError(HttpStatusCode.RequestEntityTooLarge, await SendAsync(http, new HttpRequestMessage(HttpMethod.Post, "/files")
        {
            Content = Form(new byte[WritesFixture.MaxUpload * 3]), Headers = { ConnectionClose = true },
        }), "large"); // the pipeline's body limit ("too large") or the upload's own count ("larger than"), whichever trips first
        var chunked = Form(new byte[WritesFixture.MaxUpload * 3]);
        await chunked.LoadIntoBufferAsync();
        var stream = new StreamContent(await chunked.ReadAsStreamAsync());
        stream.Headers.ContentType = chunked.Headers.ContentType;
        var request = new HttpRequestMessage(HttpMethod.Post, "/files") { Content = stream, Headers = { ConnectionClose = true } };
        request.Headers.TransferEncodingChunked = true;
        AssertError(HttpStatusCode.RequestEntityTooLarge, await SendAsync(http, request), "large");

        // A multipart body that ends before its closing boundary.
        var truncated = new StringContent("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc", Encoding.UTF8);
        truncated.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xyz");
        AssertError(HttpStatusCode.BadRequest, await UploadAsync(http, truncated), "malformed");

        // Two files, the second over the limit: neither is stored.
        var two = Form([1, 2, 3], "fine.txt");
        two.Add(new ByteArrayContent(new byte[WritesFixture.MaxUpload + 1]), "file", "big.bin");
        AssertError(HttpStatusCode.RequestEntityTooLarge, await UploadAsync(http, two), "big.bin");

        // Nothing of any of them was stored.
        Assert.Equal(before, (await http.GetFromJsonAsync<JsonElement>("/files?view=count")).GetProperty("count").GetInt64());
        // Without credentials: 401 before anything is read.
        using var anonymous = host.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await UploadAsync(anonymous, Form([1]))).Status);
    }

    [Fact]
    public async Task Attachments_of_synced_mail_other_accounts_files_and_files_in_drafts_are_not_deleted()
    {
        using var http = host.Client(host.A.Token);
        using var other = host.Client(host.B.Token);
        var attachment = Assert.Single((await http.GetFromJsonAsync<JsonElement>($"/files?filename={Uri.EscapeDataString(ReadApiFixture.PdfName)}")).EnumerateArray());
        string attachmentId = attachment.GetProperty("id").GetString()!;
        AssertError(HttpStatusCode.BadRequest, await DeleteAsync(http, attachmentId), "attachment of synced mail");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/files/{attachmentId}")).StatusCode);

        string mine = (await UploadAsync(http, Form([7, 7, 7], "mine.txt"))).Body[0].GetProperty("id").GetString()!;
        AssertError(HttpStatusCode.NotFound, await DeleteAsync(other, mine), mine);
        AssertError(HttpStatusCode.NotFound, await SendAsync(other, new HttpRequestMessage(HttpMethod.Get, $"/files/{mine}")), mine);
        AssertError(HttpStatusCode.NotFound, await SendAsync(other, new HttpRequestMessage(HttpMethod.Get, $"/files/{mine}/download")), mine);
        AssertError(HttpStatusCode.BadRequest, await DeleteAsync(http, "not-an-id!"), "invalid file id");

        // A draft naming the file (the drafts feature will write draft_files; here the row is written directly).
        var (accountId, shard) = await host.AccountRowAsync(host.A.AccountId);
        long fileRow = await host.Databases.ScalarAsync(shard, $"SELECT id FROM files WHERE public_id = '{mine}'");
        await host.Databases.QueryScalarAsync(shard, $"INSERT INTO draft_files (account_id, draft_id, file_id) VALUES ({accountId}, 4242, {fileRow})");
        AssertError(HttpStatusCode.Conflict, await DeleteAsync(http, mine), "draft");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/files/{mine}")).StatusCode);
        await host.Databases.QueryScalarAsync(shard, $"DELETE FROM draft_files WHERE file_id = {fileRow}");
        Assert.Equal(HttpStatusCode.OK, (await DeleteAsync(http, mine)).Status);
    }
}
