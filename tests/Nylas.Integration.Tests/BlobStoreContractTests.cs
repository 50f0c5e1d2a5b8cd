using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>Azure Blob storage (Azurite) under the content-addressed contract.</summary>
public sealed class AzureBlobStoreContractTests(ITestOutputHelper output) : BlobStoreContract(output)
{
    private readonly BlobContainerClient _container = new BlobServiceClient(TestStack.Storage).GetBlobContainerClient("contract-" + Guid.NewGuid().ToString("N")[..12]);

    protected override IBlobContainer Container() => new AzureBlobContainer(_container);

    protected override Task DropAsync() => _container.DeleteIfExistsAsync();
}

/// <summary>The blob directory under the same contract, plus what only files have: staging files, modes, names.</summary>
public sealed class FileSystemBlobStoreContractTests(ITestOutputHelper output) : BlobStoreContract(output)
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "nylas-blobs-" + Guid.NewGuid().ToString("N")[..12]);

    private FileSystemBlobContainer Files => (FileSystemBlobContainer)Store.Container;

    protected override IBlobContainer Container() => new FileSystemBlobContainer(Path.Combine(_directory, "files"));

    protected override Task DropAsync()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    protected override void AssertNothingLeftBehind()
        => Assert.Empty(Directory.GetFiles(Files.StagingDirectory));

    [Fact]
    public async Task A_crashed_writers_staging_file_is_never_served_and_is_removed_once_abandoned()
    {
        byte[] content = RandomNumberGenerator.GetBytes(200_000);
        string sha = Sha(content);
        var halfWritten = new TaskCompletionSource();
        var resume = new TaskCompletionSource();
        // A writer that stops half way, as one whose process died would.
        var writer = Store.PutAsync(sha, content.Length, async (target, ct) =>
        {
            await target.WriteAsync(content.AsMemory(0, content.Length / 2), ct);
            await target.FlushAsync(ct);
            halfWritten.SetResult();
            await resume.Task;
            await target.WriteAsync(content.AsMemory(content.Length / 2), ct);
        });
        await halfWritten.Task;
        string partial = Assert.Single(Directory.GetFiles(Files.StagingDirectory));
        Assert.EndsWith(FileSystemBlobContainer.PartialSuffix, partial);
        Assert.False(await Store.ExistsAsync(sha));
        await Assert.ThrowsAnyAsync<IOException>(() => Store.OpenReadAsync(ContentAddressedStore.BlobName(sha)));

        // A writer still writing is left alone; one silent for longer than the limit is taken for dead.
        await Store.RemoveAbandonedAsync();
        Assert.True(File.Exists(partial));
        File.SetLastWriteTimeUtc(partial, DateTime.UtcNow - FileSystemBlobContainer.AbandonedAfter - TimeSpan.FromMinutes(1));
        await Store.RemoveAbandonedAsync();
        Assert.False(File.Exists(partial));

        // Had it lived on, it could not give a name to content it no longer has.
        resume.SetResult();
        await Assert.ThrowsAnyAsync<IOException>(() => writer);
        Assert.False(await Store.ExistsAsync(sha));
        await Store.PutAsync(sha, new MemoryStream(content));
        Assert.Equal(content, await ReadAsync(sha));
        AssertNothingLeftBehind();
    }

    [Fact]
    public async Task A_blob_a_crashed_delete_held_is_put_back_under_its_name()
    {
        byte[] content = RandomNumberGenerator.GetBytes(3_000);
        string sha = Sha(content);
        await Store.PutAsync(sha, new MemoryStream(content));
        string path = Path.Combine(Files.Directory, ContentAddressedStore.BlobName(sha));
        // What DeleteUnlessStoredSince does first (the blob taken from its name), by a process that died two minutes ago.
        string held = Path.Combine(Files.StagingDirectory,
            $"{sha}.{DateTime.UtcNow.AddMinutes(-2).Ticks}.{Guid.NewGuid():N}{FileSystemBlobContainer.DeletingSuffix}");
        File.Move(path, held);
        Assert.False(await Store.ExistsAsync(sha));

        await Store.EnsureCreatedAsync(); // a host's start
        Assert.Equal(content, await ReadAsync(sha));
        AssertNothingLeftBehind();
    }

    [Fact, System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Blobs_are_readable_by_the_hosts_user_alone_and_only_blob_names_are_paths()
    {
        byte[] content = RandomNumberGenerator.GetBytes(100);
        string sha = Sha(content);
        await Store.PutAsync(sha, new MemoryStream(content));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Files.Directory, ContentAddressedStore.BlobName(sha))));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Files.Directory));

        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync("sha256/../../../etc/passwd"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync("/etc/passwd"));
    }
}

/// <summary>
/// What the stores promise their callers, whatever keeps the blobs: content back byte for byte; a second put of the same
/// content touches the blob and changes nothing else; a delete skips what was stored since and never races a put into
/// losing it; a writer that fails leaves nothing under the name.
/// </summary>
public abstract class BlobStoreContract(ITestOutputHelper output) : IAsyncLifetime
{
    protected FileStore Store { get; private set; } = null!;

    protected abstract IBlobContainer Container();

    protected abstract Task DropAsync();

    /// <summary>No staging files, temporary blobs or the like left once every writer has finished.</summary>
    protected virtual void AssertNothingLeftBehind() { }

    public async Task InitializeAsync()
    {
        Store = new FileStore(Container());
        await Store.EnsureCreatedAsync();
    }

    public Task DisposeAsync() => DropAsync();

    protected static string Sha(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    protected async Task<byte[]> ReadAsync(string sha)
    {
        await using var stream = await Store.OpenReadAsync(ContentAddressedStore.BlobName(sha));
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    /// <summary>The next whole second, once it has passed: Azure's Last-Modified has whole seconds.</summary>
    private static async Task<DateTimeOffset> NextSecondAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var next = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero).AddSeconds(1);
        await Task.Delay(next - now + TimeSpan.FromMilliseconds(50));
        return next;
    }

    [Fact]
    public async Task Content_put_is_read_back_byte_for_byte_under_its_hash()
    {
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        string sha = Sha(content);
        Assert.False(await Store.ExistsAsync(sha));
        Assert.Equal($"sha256/{sha[..2]}/{sha}", await Store.PutAsync(sha, new MemoryStream(content)));
        Assert.True(await Store.ExistsAsync(sha));
        Assert.Equal(content, await ReadAsync(sha));
        Assert.True(await Store.ContainerExistsAsync());
        Assert.False(await Store.ExistsAsync(Sha(RandomNumberGenerator.GetBytes(10))));
        AssertNothingLeftBehind();
    }

    [Fact]
    public async Task A_second_put_touches_the_blob_so_a_delete_since_keeps_it_and_an_untouched_one_goes()
    {
        byte[] untouched = RandomNumberGenerator.GetBytes(1_000), touched = RandomNumberGenerator.GetBytes(1_000);
        await Store.PutAsync(Sha(untouched), new MemoryStream(untouched));
        await Store.PutAsync(Sha(touched), new MemoryStream(touched));
        var since = await NextSecondAsync(); // the deletion was scheduled after both were stored

        // Stored again after the deletion was scheduled, by a writer whose ingest has not landed yet. Whatever it sends,
        // the blob keeps its bytes (a content-addressed blob is never replaced).
        await Store.PutAsync(Sha(touched), new MemoryStream(touched));
        await Store.PutAsync(Sha(touched), touched.Length, (target, ct) => target.WriteAsync(touched, ct).AsTask());

        Assert.True(await Store.DeleteUnlessStoredSinceAsync(Sha(untouched), since));
        Assert.False(await Store.ExistsAsync(Sha(untouched)));
        Assert.False(await Store.DeleteUnlessStoredSinceAsync(Sha(touched), since));
        Assert.Equal(touched, await ReadAsync(Sha(touched)));
        // Gone already: nothing to delete.
        Assert.False(await Store.DeleteUnlessStoredSinceAsync(Sha(untouched), since));
        // Written for the first time after `since`.
        byte[] late = RandomNumberGenerator.GetBytes(500);
        await Store.PutAsync(Sha(late), new MemoryStream(late));
        Assert.False(await Store.DeleteUnlessStoredSinceAsync(Sha(late), since));
        Assert.True(await Store.ExistsAsync(Sha(late)));
        AssertNothingLeftBehind();
    }

    [Fact]
    public async Task Content_over_4_MB_is_streamed_in_and_a_second_put_does_not_call_the_writer()
    {
        byte[] content = new byte[5 * 1024 * 1024 + 123];
        new Random(13).NextBytes(content);
        string sha = Sha(content);
        int calls = 0;
        async Task Write(Stream target, CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            for (int offset = 0; offset < content.Length; offset += 64 * 1024)
                await target.WriteAsync(content.AsMemory(offset, Math.Min(64 * 1024, content.Length - offset)), ct);
        }

        await Store.PutAsync(sha, content.Length, Write);
        Assert.Equal(1, calls);
        Assert.Equal(content, await ReadAsync(sha));

        await Store.PutAsync(sha, content.Length, Write);
        await Store.PutAsync(sha, Write);
        Assert.Equal(1, calls);
        Assert.Equal(content, await ReadAsync(sha));
        AssertNothingLeftBehind();
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(6 * 1024 * 1024)]
    public async Task A_writer_that_fails_half_way_leaves_nothing_under_the_name(int size)
    {
        byte[] content = RandomNumberGenerator.GetBytes(size);
        string sha = Sha(content);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Store.PutAsync(sha, content.Length, async (target, ct) =>
        {
            await target.WriteAsync(content.AsMemory(0, size / 2), ct);
            throw new InvalidDataException("the attachment could not be decoded");
        }));
        Assert.Equal("the attachment could not be decoded", error.Message);
        Assert.False(await Store.ExistsAsync(sha));

        await Store.PutAsync(sha, content.Length, (target, ct) => target.WriteAsync(content, ct).AsTask());
        Assert.Equal(content, await ReadAsync(sha));
        AssertNothingLeftBehind();
    }

    [Fact]
    public async Task Concurrent_puts_of_the_same_content_all_succeed_and_store_it_once()
    {
        byte[] content = RandomNumberGenerator.GetBytes(300_000);
        string sha = Sha(content);
        var start = new TaskCompletionSource();
        var puts = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return i % 2 == 0
                ? await Store.PutAsync(sha, new MemoryStream(content))
                : await Store.PutAsync(sha, i % 4 == 1 ? content.Length : 6 * 1024 * 1024, (target, ct) => target.WriteAsync(content, ct).AsTask());
        })).ToList();
        start.SetResult();
        Assert.All(await Task.WhenAll(puts), name => Assert.Equal(ContentAddressedStore.BlobName(sha), name));
        Assert.Equal(content, await ReadAsync(sha));
        AssertNothingLeftBehind();
    }

    [Fact]
    public async Task Many_new_contents_stored_at_once_into_an_empty_store_are_all_there()
    {
        // Into a store with no blob yet: on disk, writers racing to make the same sha256/xx directories.
        var contents = Enumerable.Range(0, 400).Select(_ => RandomNumberGenerator.GetBytes(1_500)).ToList();
        var start = new TaskCompletionSource();
        var puts = contents.Select(c => Task.Run(async () => { await start.Task; await Store.PutAsync(Sha(c), new MemoryStream(c)); })).ToList();
        start.SetResult();
        await Task.WhenAll(puts);
        foreach (var c in contents)
            Assert.Equal(c, await ReadAsync(Sha(c)));
        AssertNothingLeftBehind();
    }

    [Fact]
    public async Task A_put_racing_a_delete_never_returns_with_its_content_missing()
    {
        // Many pairs at once: each content stored before `since`, then stored again while a sweep deletes it. Either
        // order is allowed (the delete may win, then the put stores it again), but a put that returned must find its
        // content there, as the ingest that follows it references the name.
        int deleted = 0;
        for (int round = 0; round < 2; round++)
        {
            var contents = Enumerable.Range(0, 150).Select(_ => RandomNumberGenerator.GetBytes(2_000)).ToList();
            await Task.WhenAll(contents.Select(c => Store.PutAsync(Sha(c), new MemoryStream(c))));
            var since = await NextSecondAsync();
            var start = new TaskCompletionSource();
            var random = new Random(round);
            // Which of the two goes first varies: a few yields to the thread pool before either starts.
            async Task StartAsync(int yields)
            {
                await start.Task;
                for (int i = 0; i < yields; i++) await Task.Yield();
            }
            var pairs = contents.Select(c => (Put: random.Next(4), Delete: random.Next(4))).Zip(contents, (y, c) => (
                Put: Task.Run(async () => { await StartAsync(y.Put); await Store.PutAsync(Sha(c), new MemoryStream(c)); }),
                Delete: Task.Run(async () => { await StartAsync(y.Delete); return await Store.DeleteUnlessStoredSinceAsync(Sha(c), since); }))).ToList();
            start.SetResult();
            await Task.WhenAll(pairs.SelectMany(p => new Task[] { p.Put, p.Delete }));
            deleted += pairs.Count(p => p.Delete.Result);
            foreach (var c in contents)
                Assert.Equal(c, await ReadAsync(Sha(c)));
        }
        AssertNothingLeftBehind();
        output.WriteLine($"{deleted} of 300 deletes won the race (their put stored the content again)");
    }
}
