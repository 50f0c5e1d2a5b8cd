using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Nylas.Engine.Storage;

/// <summary>
/// Content-addressed blobs as files under one directory (<c>Nylas:Storage:BlobDirectory</c>/<i>container</i>), with the
/// blob names as paths (<c>sha256/ab/abcdef…</c>): the single-machine store, with no storage server to ask per message.
/// </summary>
/// <remarks>
/// <para>Durable as Blob storage is when it answers: content is written to a file in the container's staging directory,
/// flushed to disk, moved to its name without replacing one that is there, and the directory that gained the name is
/// flushed too, so a name a caller was given survives a power cut. A crash leaves only staging files, never a partial
/// blob under a name; <see cref="RemoveAbandonedAsync"/> (at start and with every sweep) removes them.</para>
/// <para>"Stored since" is the file's last-write time: a writer that finds its content there sets it to now (a touch).
/// The delete takes the file away from its name first (a rename, atomic), then reads the time: a touch that came before
/// the rename changed the same file, so it is seen and the file is put back; a touch after the rename finds no file and
/// the writer writes it again. A writer also checks the name after its touch, so a touch that raced the rename is
/// never taken for a stored blob.</para>
/// </remarks>
public sealed partial class FileSystemBlobContainer : IBlobContainer
{
    /// <summary>Suffix of a file being written; one older than <see cref="AbandonedAfter"/> belongs to a writer that died.</summary>
    public const string PartialSuffix = ".partial";

    /// <summary>Suffix of a blob taken from its name by a delete that had not decided yet; one found later is put back.</summary>
    public const string DeletingSuffix = ".deleting";

    /// <summary>How long a staging file may go unwritten before it counts as a dead writer's (a live one writes as it goes).</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    /// <summary>A delete holds a blob away from its name for a few system calls; one held longer was a delete that died.</summary>
    private static readonly TimeSpan DeleteAbandonedAfter = TimeSpan.FromMinutes(1);

    private const int BufferSize = 16 * 1024;

    /// <summary>Blobs up to this size are read whole when opened (<see cref="OpenReadAsync"/>) and written in one call from memory; larger ones are streamed.</summary>
    private const int SmallBlobLimit = 1024 * 1024;

    // Blobs and directories are the host's alone: mail is private.
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public FileSystemBlobContainer(string directory)
    {
        Directory = Path.GetFullPath(directory);
        StagingDirectory = Path.Combine(Directory, ".staging");
    }

    /// <summary>The container's directory; blobs live under it by name.</summary>
    public string Directory { get; }

    /// <summary>
    /// Where content is written before it is moved to its name, and where a delete holds it while it decides: inside the
    /// container, so on the same file system (the move is a rename), and listed alone when crashed writers are cleaned up.
    /// </summary>
    public string StagingDirectory { get; }

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        CreateDirectory(Directory);
        CreateDirectory(StagingDirectory);
        await RemoveAbandonedAsync(cancellationToken);
    }

    public Task<bool> ExistsAsync(CancellationToken cancellationToken)
        => Task.FromResult(System.IO.Directory.Exists(Directory) && System.IO.Directory.Exists(StagingDirectory));

    public async Task PutAsync(string name, Stream content, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        if (Touch(path)) return;
        // Small content in memory (a fetched message, nearly all mail) is written in this thread, in one call: on Linux an
        // asynchronous file write is a hop to the thread pool for the same system call. Larger content is copied in chunks
        // of 80 KB or more. Either way the file needs no buffer of its own.
        Func<Stream, CancellationToken, Task> write = content is MemoryStream && content.Length - content.Position <= SmallBlobLimit
            ? (target, _) => { content.CopyTo(target); return Task.CompletedTask; }
            : (target, ct) => content.CopyToAsync(target, ct);
        string partial = await WritePartialAsync(name, write, bufferSize: 0, cancellationToken);
        Place(partial, path);
    }

    /// <summary>Files need no single-request path: content of any size is written straight to disk, after a touch that saves writing it twice.</summary>
    public async Task PutAsync(string name, long? size, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        if (Touch(path)) return;
        string partial = await WritePartialAsync(name, writeContent, BufferSize, cancellationToken);
        Place(partial, path);
    }

    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken) => Task.FromResult(File.Exists(PathOf(name)));

    public Task<bool> DeleteUnlessStoredSinceAsync(string name, DateTimeOffset since, CancellationToken cancellationToken)
    {
        string path = PathOf(name);
        // Most blobs the sweep asks about were not stored again: read first, so a touched one costs no renames.
        var stored = new FileInfo(path);
        if (!stored.Exists || stored.LastWriteTimeUtc >= since.UtcDateTime) return Task.FromResult(false);

        string held = StagingPath(name, DeletingSuffix);
        try
        {
            File.Move(path, held, overwrite: true); // a fresh name: a plain rename
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult(false); // deleted meanwhile by another sweep
        }
        // The rename moved the file, not a copy: a touch that reached it before the rename shows here.
        if (File.GetLastWriteTimeUtc(held) >= since.UtcDateTime)
        {
            PutBack(held, path);
            return Task.FromResult(false);
        }
        File.Delete(held);
        return Task.FromResult(true);
    }

    public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
    {
        var file = new FileStream(PathOf(name), new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            // A reader keeps its file if a delete takes the name meanwhile, as a streamed GET keeps its blob.
            Share = FileShare.Read | FileShare.Delete,
            // Unbuffered: a small blob is read below in one call, and the readers of a large one (ingest's copy, the API's
            // download) read 80 KB or more at a time.
            BufferSize = 0,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        });
        if (file.Length > SmallBlobLimit) return Task.FromResult<Stream>(file);
        // Nearly all mail is small: read at once, in one system call (from the page cache, as a rule). On Linux every
        // asynchronous file read is a hop to the thread pool, and copying a small blob took two. A blob never changes
        // under its name, so its length is the length read.
        using (file)
        {
            var bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            return Task.FromResult<Stream>(new MemoryStream(bytes, writable: false));
        }
    }

    /// <summary>
    /// Deletes staging files a writer stopped writing over <see cref="AbandonedAfter"/> ago (it died: what it wrote never
    /// got a name), and puts back blobs a delete took from their name and never decided on (it died after the rename;
    /// the blob may have been touched, and an unreferenced blob put back costs only its space).
    /// </summary>
    public Task RemoveAbandonedAsync(CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(StagingDirectory)) return Task.CompletedTask;
        var now = DateTime.UtcNow;
        foreach (string file in System.IO.Directory.EnumerateFiles(StagingDirectory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string fileName = Path.GetFileName(file);
            try
            {
                if (fileName.EndsWith(PartialSuffix, StringComparison.Ordinal))
                {
                    if (now - File.GetLastWriteTimeUtc(file) > AbandonedAfter) File.Delete(file);
                }
                else if (fileName.EndsWith(DeletingSuffix, StringComparison.Ordinal) && ParseHeld(fileName) is { } held
                         && now - held.Since > DeleteAbandonedAfter)
                {
                    PutBack(file, PathOf(ContentAddressedStore.BlobName(held.Sha256)));
                }
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                // Finished meanwhile by its writer or deleter.
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>Touches the blob if it is there (see the remarks), true when it is there afterwards.</summary>
    private static bool Touch(string path)
    {
        // Most puts are of new content: a lookup first spares them the exception of touching a missing file.
        if (!File.Exists(path)) return false;
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        // A delete may have renamed the file between the lookup and the time change: then the touch went to the file
        // being deleted, and the name is empty (or holds another writer's copy, which is as good).
        return File.Exists(path);
    }

    /// <summary>Writes the content to a new staging file and flushes it to disk; the file is removed if the writer fails.</summary>
    /// <param name="bufferSize">The file's write buffer: 0 when the writer writes large chunks itself.</param>
    private async Task<string> WritePartialAsync(string name, Func<Stream, CancellationToken, Task> writeContent, int bufferSize, CancellationToken cancellationToken)
    {
        string partial = StagingPath(name, PartialSuffix);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = bufferSize,
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode600;
        FileStream target;
        try
        {
            target = new FileStream(partial, options);
        }
        catch (DirectoryNotFoundException)
        {
            CreateDirectory(StagingDirectory);
            target = new FileStream(partial, options);
        }
        try
        {
            await using (target)
            {
                await writeContent(target, cancellationToken);
                // Writes what is still buffered (an attachment written in small chunks) and syncs, in this thread: an
                // asynchronous flush first would be one more hop to the thread pool per blob on Linux, for the same calls.
                target.Flush(flushToDisk: true);
            }
            return partial;
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    /// <summary>
    /// Gives the written content its name unless a file has it (then that one, the same bytes, is touched); a name that
    /// empties between the two (a delete) is tried again, so the content is under its name when this returns.
    /// </summary>
    private void Place(string partial, string path)
    {
        bool placed = false;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    // A blob is never overwritten. .NET on Unix looks the name up and renames when it is free (link() when
                    // it is not, which fails): two writers racing may both rename, the later replacing the earlier's file
                    // with the same bytes, which leaves the name filled either way.
                    File.Move(partial, path, overwrite: false);
                    placed = true;
                    SyncDirectory(Path.GetDirectoryName(path)!);
                    return;
                }
                catch (IOException ex) when ((ex is FileNotFoundException or DirectoryNotFoundException) && attempt < 3 && File.Exists(partial))
                {
                    // The name's directory is made on first use. (When another writer makes it at the same moment, .NET,
                    // finding it there after the failed rename, blames the source: hence either exception.)
                    CreateDirectory(Path.GetDirectoryName(path)!);
                }
                catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
                {
                    if (Touch(path)) return; // stored meanwhile by another writer
                    if (attempt >= 5) throw;
                }
            }
        }
        finally
        {
            if (!placed) TryDelete(partial);
        }
    }

    /// <summary>Gives a held blob its name back, unless a writer stored the content there meanwhile (then the held copy goes).</summary>
    private static void PutBack(string held, string path)
    {
        try
        {
            File.Move(held, path, overwrite: false);
            SyncDirectory(Path.GetDirectoryName(path)!);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(path))
        {
            File.Delete(held);
        }
    }

    /// <summary>The blob's path; a name that is not one this store gives (<c>sha256/ab/abcdef…</c>) is refused, so no name reaches outside the directory.</summary>
    private string PathOf(string name)
    {
        if (!BlobNamePattern().IsMatch(name)) throw new ArgumentException($"'{name}' is not a content-addressed blob name (sha256/ab/<64 hex digits>).", nameof(name));
        return Path.Combine(Directory, name);
    }

    /// <summary>A new staging file for the blob: its hash, when it was made (read back for a held blob), a random part.</summary>
    private string StagingPath(string name, string suffix)
        => Path.Combine(StagingDirectory,
            $"{name[(name.LastIndexOf('/') + 1)..]}.{DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}{suffix}");

    private static (string Sha256, DateTime Since)? ParseHeld(string fileName)
    {
        string[] parts = fileName.Split('.');
        return parts.Length == 4 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long ticks)
            && ticks <= DateTime.MaxValue.Ticks && BlobNamePattern().IsMatch(ContentAddressedStore.BlobName(parts[0]))
            ? (parts[0], new DateTime(ticks, DateTimeKind.Utc))
            : null;
    }

    [GeneratedRegex("^sha256/[0-9a-fA-F]{2}/[0-9a-fA-F]{64}$")]
    private static partial Regex BlobNamePattern();

    /// <summary>Creates the directory and any missing parent, and flushes each new entry to disk, so the names under them last too.</summary>
    private static void CreateDirectory(string directory)
    {
        var missing = new List<string>();
        for (string? d = directory; d is not null && !System.IO.Directory.Exists(d); d = Path.GetDirectoryName(d)) missing.Add(d);
        if (missing.Count == 0) return;
        if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(directory);
        else System.IO.Directory.CreateDirectory(directory, DirectoryMode700);
        foreach (string d in missing) SyncDirectory(Path.GetDirectoryName(d)!);
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// fsync of a directory, so a name just added to it survives a crash (a file's own fsync does not cover its name).
    /// .NET opens no directory, hence libc; on Windows, NTFS journals renames, and there is no call for it.
    /// </summary>
    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Native.Open(directory, Native.ReadOnly);
        if (fd < 0) throw new IOException($"Cannot open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Native.Fsync(fd) != 0) throw new IOException($"Cannot flush directory {directory} to disk (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    private static class Native
    {
        public const int ReadOnly = 0; // O_RDONLY; a directory opens read-only without O_DIRECTORY (whose value differs by CPU)

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
