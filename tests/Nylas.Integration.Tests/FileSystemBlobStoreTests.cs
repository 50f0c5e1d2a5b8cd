using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using MimeKit;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The local host with <c>Nylas:Storage:BlobStore</c> = <c>FileSystem</c>: blobs in a directory, queues and the task hub on Azurite.</summary>
public sealed class FileSystemBlobHostFixture : LocalHostFixture
{
    public string BlobDirectory { get; } = Path.Combine(Path.GetTempPath(), "nylas-host-blobs-" + Guid.NewGuid().ToString("N")[..12]);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Storage:BlobStore"] = "FileSystem";
        settings["Nylas:Storage:BlobDirectory"] = BlobDirectory;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(BlobDirectory)) Directory.Delete(BlobDirectory, recursive: true);
    }
}

public class FileSystemBlobStoreTests(FileSystemBlobHostFixture host) : IClassFixture<FileSystemBlobHostFixture>
{
    [Fact]
    public async Task A_mailbox_synced_with_blobs_on_disk_is_served_whole_bodies_files_and_raw_mime()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        byte[] pdf = RandomNumberGenerator.GetBytes(150_000);
        var builder = new BodyBuilder { TextBody = "the report is attached" };
        builder.Attachments.Add("report.pdf", pdf, new ContentType("application", "pdf"));
        var withFile = TestStack.SimpleMessage(email, "report on disk");
        withFile.Body = builder.ToMessageBody();
        await TestStack.AppendAsync(email, withFile);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "plain on disk", "just text"));

        using var http = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(60)));
        var messages = (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray().ToList();
        var report = messages.Single(m => m.GetProperty("subject").GetString() == "report on disk");
        var plain = messages.Single(m => m.GetProperty("subject").GetString() == "plain on disk");
        Assert.Contains("the report is attached", report.GetProperty("body").GetString());
        Assert.Contains("just text", plain.GetProperty("body").GetString());

        string fileId = Assert.Single(report.GetProperty("files").EnumerateArray()).GetProperty("id").GetString()!;
        Assert.Equal(pdf, await http.GetByteArrayAsync($"/files/{fileId}/download"));

        // Raw MIME as the server has it, byte for byte.
        using var imap = await TestStack.ConnectImapAsync(email);
        await imap.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
        using var serverStream = await imap.Inbox.GetStreamAsync(0, "");
        using var serverCopy = new MemoryStream();
        await serverStream.CopyToAsync(serverCopy);
        byte[] serverBytes = serverCopy.ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{report.GetProperty("id").GetString()}");
        request.Headers.Accept.ParseAdd("message/rfc822");
        using var raw = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal(serverBytes, await raw.Content.ReadAsByteArrayAsync());

        // Both blobs are files under the directory, by their SHA-256, and none went to Azurite.
        string rawName = ContentAddressedStore.BlobName(Convert.ToHexStringLower(SHA256.HashData(serverBytes)));
        string fileName = ContentAddressedStore.BlobName(Convert.ToHexStringLower(SHA256.HashData(pdf)));
        Assert.Equal(serverBytes, await File.ReadAllBytesAsync(Path.Combine(host.BlobDirectory, "raw-mail", rawName)));
        Assert.Equal(pdf, await File.ReadAllBytesAsync(Path.Combine(host.BlobDirectory, "files", fileName)));
        var azure = new BlobServiceClient(TestStack.Storage);
        Assert.False((await azure.GetBlobContainerClient("raw-mail").GetBlobClient(rawName).ExistsAsync()).Value);
        Assert.False((await azure.GetBlobContainerClient("files").GetBlobClient(fileName).ExistsAsync()).Value);
        Assert.Empty(Directory.GetFiles(Path.Combine(host.BlobDirectory, "raw-mail", ".staging")));

        // /health checks the directory in place of the container.
        using var health = await http.GetAsync("/health");
        var checks = (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.True(checks.GetProperty("blob").GetProperty("ok").GetBoolean(), checks.ToString());
    }
}
