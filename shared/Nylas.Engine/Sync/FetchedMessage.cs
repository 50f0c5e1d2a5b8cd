using System.Buffers;
using System.Security.Cryptography;

namespace Nylas.Engine.Sync;

/// <summary>
/// A raw message read off the IMAP stream, hashed while it is read. Small messages stay in memory;
/// large ones are spooled to a temporary file, so a 50 MB attachment never sits whole in memory.
/// </summary>
internal sealed class FetchedMessage : IDisposable
{
    private readonly byte[]? _bytes;
    private readonly string? _spoolPath;

    private FetchedMessage(byte[]? bytes, string? spoolPath, long length, string sha256)
    {
        _bytes = bytes;
        _spoolPath = spoolPath;
        Length = length;
        Sha256 = sha256;
    }

    public long Length { get; }
    public string Sha256 { get; }

    public static async Task<FetchedMessage> ReadAsync(Stream source, int spoolThreshold, CancellationToken cancellationToken)
    {
        // MailKit hands over the literal it has already read, in a seekable stream: a message under the threshold is
        // copied once into an array of its size (an 80 KB copy buffer and a growing MemoryStream per message were
        // a third of what a sync allocated).
        if (source.CanSeek && source.Length - source.Position <= spoolThreshold)
        {
            var bytes = new byte[source.Length - source.Position];
            await source.ReadExactlyAsync(bytes, cancellationToken);
            return new FetchedMessage(bytes, null, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(81920);
        var memory = new MemoryStream();
        FileStream? spool = null;
        string? spoolPath = null;
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                if (spool is null && memory.Length + read > spoolThreshold)
                {
                    spoolPath = Path.Combine(Path.GetTempPath(), $"nylas-fetch-{Guid.NewGuid():N}.eml");
                    spool = new FileStream(spoolPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
                    memory.Position = 0;
                    await memory.CopyToAsync(spool, cancellationToken);
                    memory = new MemoryStream();
                }
                if (spool is not null) await spool.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                else memory.Write(buffer, 0, read);
            }
            string sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (spool is null) return new FetchedMessage(memory.ToArray(), null, memory.Length, sha);
            long length = spool.Length;
            await spool.DisposeAsync();
            spool = null;
            return new FetchedMessage(null, spoolPath, length, sha);
        }
        catch
        {
            if (spool is not null) await spool.DisposeAsync();
            if (spoolPath is not null) File.Delete(spoolPath);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Stream OpenRead() => _bytes is not null
        ? new MemoryStream(_bytes, writable: false)
        : new FileStream(_spoolPath!, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);

    public void Dispose()
    {
        if (_spoolPath is not null) File.Delete(_spoolPath);
    }
}
